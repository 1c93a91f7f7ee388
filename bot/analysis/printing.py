"""The printable report as PDF: the self-contained HTML printed by headless Chromium (Debian's binary)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

PRINT_SECONDS = 60
# No GPU, no network of its own, no first-run UI; --no-sandbox because the desk may run as root in a container.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)


class PrintUnavailable(RuntimeError):
    """The PDF could not be printed; the message is Chinese and shown as it is."""


def print_pdf(html: str, chromium: Path, timeout: float = PRINT_SECONDS) -> bytes:
    """The PDF of `html` (which must not need the network: images inline)."""
    if not chromium.is_file():
        raise PrintUnavailable("服务器未安装 Chromium，暂时无法生成 PDF，请下载 HTML 版报告后用浏览器打印")
    with tempfile.TemporaryDirectory(prefix="complaint-report-") as work:
        folder = Path(work)
        page, output = folder / "report.html", folder / "report.pdf"
        page.write_text(html, encoding="utf-8")
        try:
            subprocess.run(
                [
                    str(chromium),
                    *CHROMIUM_ARGS,
                    f"--user-data-dir={folder / 'profile'}",
                    f"--print-to-pdf={output}",
                    page.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=timeout,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise PrintUnavailable("生成 PDF 失败，请稍后重试或下载 HTML 版报告") from exc
        if not output.is_file() or output.stat().st_size == 0:
            raise PrintUnavailable("生成 PDF 失败，请稍后重试或下载 HTML 版报告")
        return output.read_bytes()
