// The analysis page's charts (Apache ECharts, served by the desk); the tables under each chart hold the same figures.
(function () {
  "use strict";
  const source = document.getElementById("analysis-data");
  if (!source || typeof echarts === "undefined") return;
  const data = JSON.parse(source.textContent);
  const charts = [];

  function draw(id, option) {
    const element = document.getElementById(id);
    if (!element) return;
    const chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ tooltip: { trigger: "item" }, animation: false }, option));
    charts.push(chart);
  }

  function bars(names, series, horizontal) {
    // Many names along the bottom (regions) are turned so that each stays readable.
    const turned = !horizontal && names.length > 12 ? 45 : 0;
    const category = { type: "category", data: names,
      axisLabel: { interval: 0, width: 110, overflow: "truncate", rotate: turned } };
    const value = { type: "value", minInterval: 1 };
    return {
      tooltip: { trigger: "axis" },
      legend: series.length > 1 ? { top: 0 } : undefined,
      grid: { left: horizontal ? 130 : 50, right: 24, top: 32, bottom: turned ? 90 : 40 },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: series,
    };
  }

  function pie(rows) {
    return {
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], label: { formatter: "{b}：{c}件（{d}%）" },
        data: rows.map((row) => ({ name: row.label, value: row.count })) }],
    };
  }

  draw("chart-months", bars(data.months.map((row) => row[0]),
    [{ name: "投诉件数", type: "line", smooth: true, data: data.months.map((row) => row[1]) }], false));
  draw("chart-channels", pie(data.channels));

  const categories = data.categories.map((item) => item.category.label);
  const reasons = [];
  data.categories.forEach((item, index) => item.sub_reasons.forEach((reason) => {
    const values = categories.map(() => 0);
    values[index] = reason.count;
    reasons.push({ name: reason.label, type: "bar", stack: "原因", data: values });
  }));
  draw("chart-categories", Object.assign(bars(categories, reasons, true), { legend: { show: false } }));

  const controls = data.controllability;
  draw("chart-controllability", bars(controls.map((item) => item.label), [
    { name: "业管可控", type: "bar", stack: "c", data: controls.map((item) => item.controllable) },
    { name: "业管不可控", type: "bar", stack: "c", data: controls.map((item) => item.uncontrollable) },
    { name: "未认定", type: "bar", stack: "c", data: controls.map((item) => item.unassessed) },
  ], true));

  draw("chart-regions", bars(data.regions.map((row) => row.label),
    [{ name: "投诉件数", type: "bar", data: data.regions.map((row) => row.count) }], false));

  const handling = data.handling;
  draw("chart-handling", {
    tooltip: { trigger: "item" },
    legend: { bottom: 0 },
    title: [{ text: "已结案", left: "22%", top: 0, textAlign: "center", textStyle: { fontSize: 13 } },
      { text: "未结案（按受理天数）", left: "72%", top: 0, textAlign: "center", textStyle: { fontSize: 13 } }],
    grid: { left: "52%", right: 24, top: 32, bottom: 40 },
    xAxis: { type: "category", data: handling.open_by_age.map((row) => row.label) },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { type: "pie", center: ["22%", "52%"], radius: ["30%", "58%"], label: { formatter: "{b}\n{c}件（{d}%）" },
        data: handling.outcomes.map((row) => ({ name: row.label, value: row.count })) },
      { name: "未结案", type: "bar", data: handling.open_by_age.map((row) => row.count) },
    ],
  });

  const ratings = data.satisfaction;
  draw("chart-satisfaction", bars(ratings.map((item) => item.label), [
    { name: "满意", type: "bar", stack: "s", data: ratings.map((item) => item.satisfied) },
    { name: "基本满意", type: "bar", stack: "s", data: ratings.map((item) => item.basically_satisfied) },
    { name: "不满意", type: "bar", stack: "s", data: ratings.map((item) => item.dissatisfied) },
  ], true));

  const quadrants = ["优先改进", "重点关注", "持续优化", "保持"];
  draw("chart-priorities", {
    tooltip: { trigger: "item", formatter: (point) => point.data[2] + "<br>投诉 " + point.data[0] + " 件，不满意率 " +
      (point.data[1] === null ? "—" : (point.data[1] * 100).toFixed(1) + "%") },
    legend: { top: 0 },
    grid: { left: 60, right: 24, top: 32, bottom: 40 },
    xAxis: { type: "value", name: "投诉件数", nameLocation: "middle", nameGap: 26, minInterval: 1 },
    yAxis: { type: "value", name: "不满意率", max: 1, axisLabel: { formatter: (value) => Math.round(value * 100) + "%" } },
    series: quadrants.map((quadrant) => ({
      name: quadrant, type: "scatter", symbolSize: 12,
      data: data.priorities.filter((item) => item.quadrant === quadrant && item.dissatisfaction_rate !== null)
        .map((item) => [item.complaints, item.dissatisfaction_rate, item.category_label + " · " + item.sub_reason_label]),
    })),
  });

  window.addEventListener("resize", () => charts.forEach((chart) => chart.resize()));
})();
