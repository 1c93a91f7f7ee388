"""The whole report for a scope: every section, each a few grouped queries in one read-only unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Dict, List, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

from bot.analysis import assistant, cases, causes, daily, handling, repeats, satisfaction, volume
from bot.analysis.assistant import Assistant, TrackerFigures
from bot.analysis.cases import CategoryCases, Malicious
from bot.analysis.causes import Controllability
from bot.analysis.figures import Share
from bot.analysis.handling import Handling
from bot.analysis.local_time import LocalTime
from bot.analysis.periods import Period
from bot.analysis.repeats import Repeats
from bot.analysis.satisfaction import CategorySatisfaction, Priority
from bot.analysis.scope import Frame, Scope
from bot.analysis.volume import CategoryBreakdown, Totals
from bot.clock import Clock, utc_now
from bot.db import Database
from bot.settings import Settings
from bot.taxonomy import Taxonomy


@dataclass(frozen=True)
class Report:
    scope: Scope
    year_before: Period
    previous: Period
    as_of: date
    totals: Totals
    channels: List[Share]
    months: List[Tuple[str, int]]
    categories: List[CategoryBreakdown]
    regions: List[Share]
    controllability: List[Controllability]
    handling: Handling
    satisfaction: List[CategorySatisfaction]
    priorities: List[Priority]
    repeats: Repeats
    typical_cases: List[CategoryCases]
    malicious: Malicious
    assistant: Assistant


class Analysis:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        taxonomy: Optional[Taxonomy] = None,
        channel_labels: Optional[Mapping[str, str]] = None,
        clock: Clock = utc_now,
        handoff_reasons: Optional[Mapping[str, str]] = None,
        rollup: bool = True,
    ) -> None:
        """`rollup=False` reads the tickets even where the daily roll-up could answer (the tests compare both)."""
        self.db = db
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.taxonomy = taxonomy or Taxonomy.load(settings.taxonomy_file)
        self.channel_labels: Dict[str, str] = dict(channel_labels or {})
        self.clock = clock
        self.handoff_reasons: Dict[str, str] = dict(handoff_reasons or {})
        self.tracker = TrackerFigures(settings.tracker_database_url)
        self.rollup = rollup

    def report(self, scope: Scope, as_of: Optional[date] = None) -> Report:
        """The report for `scope`; open tickets are aged as of `as_of` (default: today, local)."""
        today = as_of or self.clock().astimezone(self.zone).date()
        with self.db.transaction() as session:
            dialect = session.get_bind().dialect.name
            local = LocalTime.of(dialect, self.zone, scope.period.start)
            rolled_up = self.rollup and local.offset_minutes == daily.OFFSET_MINUTES
            frame = Frame(session, self.zone, local, self.taxonomy, rolled_up)
            totals = volume.totals(frame, scope)
            return Report(
                scope=scope,
                year_before=scope.period.year_before(),
                previous=scope.period.previous(),
                as_of=today,
                totals=totals,
                channels=volume.by_channel(frame, scope, self.channel_labels),
                months=volume.by_month(frame, scope),
                categories=volume.by_category(frame, scope),
                regions=volume.by_region(frame, scope),
                controllability=causes.controllability(frame, scope),
                handling=handling.handling(frame, scope, self.settings.handling_days, today),
                satisfaction=satisfaction.by_category(frame, scope),
                priorities=satisfaction.priorities(frame, scope),
                repeats=repeats.repeats(frame, scope, self.settings.repeat_complaint_days, totals.count),
                typical_cases=cases.typical_cases(frame, scope),
                malicious=cases.malicious(frame, scope, totals.count),
                assistant=assistant.assistant(session, self.tracker, scope.bounds(self.zone), self.handoff_reasons),
            )
