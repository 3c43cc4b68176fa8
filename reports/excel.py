"""The results workbook, written in openpyxl's write-only mode so that its size, not the
number of interviews, bounds the memory it takes: the interviews, their answers and their
selected choices stream from the database in three ordered cursors merged by interview.

Sheets: Summary (background, figures, index, the analysis), Call outcomes (a campaign's),
one per question table with a bar chart, Cross-tabs, Data (codes), Data (labels), Codebook,
Open answers."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.xml.functions import XML_NS, Element, SubElement

from accounts.models import user_shown_as
from config.workbooks import DATETIME_WIDTH, ColumnWidths, print_setup
from reports import crosstabs as crosstab_module
from reports.db import analytics
from reports.index import SOURCE_ATTRIBUTES, SOURCE_QUESTION
from reports.models import Analysis, ExportJob, ExportStatus
from reports.privacy import mask_phone, mask_phones_in_text, mask_reference
from reports.results import Results, results_build
from reports.selectors import ResultFilters
from reports.tables import BASE_ASKED, CLOSED_TYPES, SINGLE_CODED
from surveys.models import Answer, AnswerChoice, QuestionType, Special
from surveys.workbook_safety import FORMULA_START

logger = logging.getLogger(__name__)

SPECIAL_CODES = {Special.DONT_KNOW: -98, Special.REFUSED: -99}
# The contact's columns in a campaign's data sheets (after the interview's own).
CONTACT_COLUMNS = (
    ("phone", gettext_lazy("Phone number")),
    ("name", gettext_lazy("Name")),
    ("brand", gettext_lazy("Brand")),
    ("region", gettext_lazy("Region")),
    ("segment", gettext_lazy("Segment")),
)
CHUNK = 2000
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_ILLEGAL = ILLEGAL_CHARACTERS_RE.search


class _Pending:
    """A small sheet's rows, held until its columns' widths are known."""

    def __init__(self, header_rows: int):
        self.header_rows = header_rows
        self.rows: list[tuple[list, bool]] = []
        self.widths = ColumnWidths()


class _Sheets:
    """Writes cells so that text is always text: a value beginning with =, +, - or @ is
    stored as a string (with Excel's quote prefix), never as a formula.

    A small sheet keeps its rows until `finish`, which sizes its columns to their content
    and then writes them; a streamed sheet (the data) is laid out from its header first."""

    def __init__(self, workbook: Workbook):
        self.workbook = workbook
        self.bold = Font(bold=True)
        self.names: set[str] = set()
        self.pending: dict[int, tuple[object, _Pending]] = {}

    def sheet(self, title: str, *, header_rows: int = 1, streamed: bool = False):
        name = _SHEET_BAD.sub("_", title)[:31] or "Sheet"
        base, n = name, 2
        while name.casefold() in self.names:
            suffix = f" ({n})"
            name = base[: 31 - len(suffix)] + suffix
            n += 1
        self.names.add(name.casefold())
        ws = self.workbook.create_sheet(title=name)
        if not streamed:
            self.pending[id(ws)] = (ws, _Pending(header_rows))
        return ws

    def layout(self, ws, widths: ColumnWidths) -> None:
        """A streamed sheet's columns and print set-up, before its first row."""
        widths.apply(ws)
        print_setup(ws, header_rows=1, freeze=True, wide=True)

    def finish(self) -> None:
        """Write the rows every small sheet kept, in columns as wide as their content."""
        for ws, pending in self.pending.values():
            pending.widths.apply(ws)
            print_setup(ws, header_rows=pending.header_rows, wide=len(pending.widths.widths) > 5)
            for values, bold in pending.rows:
                self._append(ws, values, bold=bold)
        self.pending.clear()

    def cell(self, ws, value, *, bold: bool = False):
        if isinstance(value, datetime):
            value = timezone.localtime(value).replace(tzinfo=None) if value.tzinfo else value
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell = WriteOnlyCell(ws, value=value)
        if isinstance(value, str) and value.startswith(FORMULA_START):
            cell.data_type = "s"
            cell.quotePrefix = True
        if bold:
            cell.font = self.bold
        return cell

    def share(self, ws, percent: float | None, *, mark: str = ""):
        """A percentage stored as the exact fraction it is (3/76, not 3.95 rounded), shown
        with a percent format: a user who formats it to one decimal rounds once."""
        if percent is None:
            return None
        cell = WriteOnlyCell(ws, value=percent / 100)
        cell.number_format = MARKED_FORMATS.get(mark, PERCENT_FORMAT)
        return cell

    def text(self, ws, value: str | None):
        """A string as it may go into a row: itself, or a cell when it needs care."""
        if not value:
            return value or None
        if value.startswith(FORMULA_START) or _ILLEGAL(value):
            return self.cell(ws, value)
        return value

    def row(self, ws, values, *, bold: bool = False, measure: bool = True) -> None:
        """Append a row; `measure=False` for a title that may run across empty cells
        without widening its column."""
        held = self.pending.get(id(ws))
        if held is None:
            self._append(ws, values, bold=bold)
            return
        values = list(values)
        held[1].rows.append((values, bold))
        if measure:
            held[1].widths.feed(values)

    def _append(self, ws, values, *, bold: bool = False) -> None:
        if bold:
            ws.append([self.cell(ws, v, bold=True) for v in values])
            return
        # Plain values go in as they are; only what needs care becomes a cell object.
        ws.append(
            [
                self.cell(ws, v)
                if isinstance(v, (str, datetime))
                and (isinstance(v, datetime) or v.startswith(FORMULA_START) or _ILLEGAL(v))
                else v
                for v in values
            ]
        )


class _PlainRows:
    """Serialises the rows of a write-only sheet in one lxml element each, without building a
    cell object per value: the data sheets hold millions of values, and openpyxl's per-cell
    path is most of the time of an export. Values are None, numbers, strings, naive
    datetimes, or the cells `_Sheets.cell` makes for text that needs care (written with
    their style). The XML is what openpyxl writes for the same values."""

    def __init__(self, ws):
        ws._get_writer()
        probe = WriteOnlyCell(ws, value=datetime(2000, 1, 1))
        self.date_style = str(probe.style_id)
        self.epoch = ws.parent.epoch
        ws._values_to_row = lambda values, _row_idx: values
        ws._writer.write_row = self.write_row

    def write_row(self, xf, values, row_idx: int) -> None:
        number = str(row_idx)
        row = Element("row", {"r": number})
        for column, value in enumerate(values, 1):
            if value is None:
                continue
            ref = get_column_letter(column) + number
            kind = type(value)
            if kind is str:
                self._text(row, ref, value, None)
            elif kind is int or kind is float or kind is Decimal:
                SubElement(SubElement(row, "c", {"r": ref, "t": "n"}), "v").text = str(value)
            elif kind is bool:
                SubElement(SubElement(row, "c", {"r": ref, "t": "b"}), "v").text = (
                    "1" if value else "0"
                )
            elif kind is datetime:
                c = SubElement(row, "c", {"r": ref, "t": "n", "s": self.date_style})
                SubElement(c, "v").text = str(to_excel(value, self.epoch))
            elif isinstance(value, Cell):
                style = str(value.style_id) if value.has_style else None
                if value.data_type == "s":
                    self._text(row, ref, value._value, style)
                else:
                    attrs = {"r": ref, "t": value.data_type}
                    if style:
                        attrs["s"] = style
                    SubElement(SubElement(row, "c", attrs), "v").text = str(value._value)
            else:
                self._text(row, ref, str(value), None)
        xf.write(row)

    @staticmethod
    def _text(row, ref: str, value: str, style: str | None) -> None:
        attrs = {"r": ref, "t": "inlineStr"}
        if style:
            attrs["s"] = style
        t = SubElement(SubElement(SubElement(row, "c", attrs), "is"), "t")
        if value != value.strip():
            t.set(f"{{{XML_NS}}}space", "preserve")
        t.text = value


def _round(value: float | None) -> float | None:
    """A figure that is not a share (a mean, hours, a ratio), to two decimals."""
    return None if value is None else round(value, 2)


PERCENT_FORMAT = "0.0%"
# A cross-tab cell significantly above or below the rest of its row keeps its number and
# shows the mark beside it.
MARKED_FORMATS = {"higher": '0.0% "▲"', "lower": '0.0% "▼"'}


def _summary(out: _Sheets, results: Results, analysis: Analysis | None, filters) -> None:
    ws = out.sheet(_("Summary"), header_rows=0)
    version = results.version
    order = results.campaign
    if order is not None:
        title = _("Results of the campaign %(title)s") % {"title": order.title}
    else:
        title = _("Results of %(name)s") % {"name": str(version)}
    out.row(ws, [title], bold=True, measure=False)
    out.row(ws, [])
    out.row(ws, [_("Project background")], bold=True)
    if order is not None:
        requester = order.requester
        for label, value in (
            (_("Work order"), f"#{order.pk} {order.title}"),
            (_("Kind"), order.get_kind_display()),
            (_("Requester"), str(requester)),
            (_("Department"), str(order.department)),
            (_("Background"), order.background),
            (_("Purpose"), order.purpose),
            (_("Target customers"), order.target_description),
            (_("Mode"), order.get_mode_display()),
            (_("Planned start"), order.planned_start or order.desired_start),
            (_("Planned end"), order.planned_end or order.desired_end),
            (_("Expected number of contacts"), order.expected_contacts),
        ):
            out.row(ws, [str(label), value])
    out.row(ws, [_("Questionnaire"), version.questionnaire.name])
    out.row(ws, [_("Version"), version.number])
    out.row(ws, [_("Purpose of the call"), version.transition_purpose])
    out.row(ws, [_("Exported at"), timezone.now()])
    for name, value in filters.to_json().items():
        if value:
            out.row(ws, [_("Filter"), f"{name} = {value}"])
    calls = results.calls
    if calls is not None:
        out.row(ws, [])
        out.row(ws, [_("Calls")], bold=True)
        for label, value in (
            (_("Contacts"), calls.contacts),
            (_("Attempts"), calls.attempts),
            (_("Contacts reached"), calls.reached),
            (_("Completed"), calls.completed),
            (_("Attempts per complete"), _round(calls.attempts_per_complete)),
        ):
            out.row(ws, [str(label), value])
        for rate in calls.rates:
            out.row(ws, [f"{rate.name} (%)", out.share(ws, rate.percent)])
    out.row(ws, [])
    out.row(ws, [_("Figures")], bold=True)
    out.row(ws, [_("Interviews started"), results.started])
    for status, n in sorted(results.outcomes.items()):
        out.row(ws, [str(_status_label(status)), n])
    out.row(ws, [_("Interviews in the tables"), results.interviews])
    index = results.index
    out.row(ws, [])
    out.row(ws, [_("Satisfaction index")], bold=True)
    if index.source == SOURCE_ATTRIBUTES:
        source = _("Segments from the contacts' brand (contact attributes)")
    elif index.source == SOURCE_QUESTION:
        source = _("Segments from question %(code)s") % {"code": index.source_question.code}
    else:
        source = _("No segment source: unweighted mean")
    out.row(ws, [_("Source"), source])
    out.row(ws, [_("Index (%)"), out.share(ws, index.index)])
    for target in index.targets:
        out.row(ws, [_("Target for %(kind)s (%%)") % {"kind": target.label}, float(target.percent)])
    out.row(ws, [_("Segment"), _("Weight (%)"), _("Respondents"), _("Score (%)")], bold=True)
    for s in index.segments:
        out.row(ws, [s.label, float(s.weight), s.respondents, out.share(ws, s.score)])
    out.row(ws, [_("Weakest items")], bold=True)
    for item in index.weakest:
        out.row(ws, [item.question.code, item.question.text, out.share(ws, item.percent)])
    out.row(ws, [])
    out.row(ws, [_("Result analysis")], bold=True)
    if analysis is None:
        out.row(ws, [_("No analysis has been written yet.")])
    else:
        for name in Analysis.SECTIONS:
            label = Analysis._meta.get_field(name).verbose_name
            out.row(ws, [str(label).capitalize(), getattr(analysis, name)])


def _calls_sheet(out: _Sheets, results: Results) -> None:
    """A campaign's call outcomes: final dispositions with their AAPOR codes and a chart,
    the rates with their formulas, and the calling work by day, hour and agent."""
    calls = results.calls
    if calls is None:
        return
    ws = out.sheet(_("Call outcomes"))
    out.row(ws, [_("Final disposition"), _("Category"), _("AAPOR code"), _("Contacts")], bold=True)
    for final in calls.finals:
        out.row(ws, [final.label, final.code, final.aapor, final.count])
    first, last = 2, 1 + len(calls.finals)
    out.row(ws, [_("Total"), None, None, calls.contacts], bold=True)
    out.row(ws, [])
    out.row(ws, [_("Rate"), _("Name"), _("Formula"), "%"], bold=True)
    for rate in calls.rates:
        out.row(ws, [rate.name, rate.label, rate.formula, out.share(ws, rate.percent)])
    for title, periods, key in (
        (_("By day"), calls.by_day, lambda p: p.key),
        (_("By hour of the day"), calls.by_hour, lambda p: f"{p.key:02d}:00"),
    ):
        out.row(ws, [])
        out.row(ws, [str(title), _("Attempts"), _("Answered"), _("Completes")], bold=True)
        for period in periods:
            out.row(ws, [key(period), period.attempts, period.reached, period.completes])
    out.row(ws, [])
    out.row(
        ws,
        [
            _("Agent"),
            _("Interviews closed"),
            _("Completes"),
            _("Hours of work"),
            _("Completes per hour"),
            _("Average length (minutes)"),
        ],
        bold=True,
    )
    for agent in calls.by_agent:
        out.row(
            ws,
            [
                agent.name,
                agent.interviews,
                agent.completes,
                _round(agent.hours),
                _round(agent.completes_per_hour),
                _round(agent.average_minutes),
            ],
        )
    if calls.finals:
        _bar_chart(ws, str(_("Final dispositions")), first, last, anchor="G2")


def _bar_chart(ws, title: str, first: int, last: int, *, anchor: str, axis: str = "") -> None:
    """A native horizontal bar chart of column D (its header in the row above `first`)
    against the labels of column A, rows `first` to `last`."""
    chart = BarChart()
    chart.type = "bar"
    chart.title = title
    if axis:
        chart.y_axis.title = axis
    chart.legend = None
    chart.y_axis.number_format = "0%"
    chart.add_data(Reference(ws, min_col=4, min_row=first - 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    chart.height = max(6, 0.7 * (last - first + 1) + 2)
    ws.add_chart(chart, anchor)


def _status_label(status: str) -> str:
    from surveys.models import ResponseStatus

    try:
        return ResponseStatus(status).label
    except ValueError:
        return status


def _question_sheets(out: _Sheets, results: Results) -> None:
    for table in results.tables:
        q = table.question
        ws = out.sheet(q.code, header_rows=3)
        out.row(ws, [q.code, q.text], bold=True, measure=False)
        out.row(ws, [_("Base (asked)"), table.asked, _("Valid answers"), table.valid])
        multiple = q.type == QuestionType.MULTIPLE
        # xgettext:no-python-format
        respondents = _("% of respondents")
        header = [_("Answer"), _("Code"), _("Count"), respondents if multiple else "%"]
        if multiple:
            # xgettext:no-python-format
            header.append(_("% of answers"))
        out.row(ws, header, bold=True)
        first = 4
        for row in table.rows:
            values = [row.label, row.code, row.count, out.share(ws, row.percent)]
            if multiple:
                values.append(out.share(ws, row.percent_of_answers))
            out.row(ws, values)
        last = first + len(table.rows) - 1
        for special, n, share in (
            (Special.DONT_KNOW, table.dont_know, table.dont_know_percent),
            (Special.REFUSED, table.refused, table.refused_percent),
        ):
            if n:
                out.row(ws, [str(special.label), SPECIAL_CODES[special], n, out.share(ws, share)])
        if table.summary is not None and table.summary.n:
            s = table.summary
            out.row(ws, [_("Mean"), _round(s.mean)])
            out.row(ws, [_("Standard deviation"), _round(s.sd)])
            out.row(ws, [_("Median"), _round(s.median)])
            out.row(ws, [_("Minimum"), s.minimum])
            out.row(ws, [_("Maximum"), s.maximum])
        share = out.share
        if table.top_two is not None:
            top = table.top_two
            out.row(ws, [_("Top two boxes"), None, top, share(ws, table.top_two_percent)])
        if table.promoters is not None:
            for label, n in (
                (_("Promoters"), table.promoters),
                (_("Passives"), table.passives),
                (_("Detractors"), table.detractors),
            ):
                out.row(ws, [label, None, n, share(ws, table.share(n))])
            out.row(ws, ["NPS", None, None, _round(table.nps)])
        if multiple:
            if table.base_kind == BASE_ASKED:
                said = _("Percentages of everyone asked: %(n)s") % {"n": table.base}
            else:
                said = _("Percentages of those who answered: %(n)s") % {"n": table.base}
            out.row(ws, [said], measure=False)
        if table.rows:
            _bar_chart(ws, q.code, first, last, anchor="H2", axis="%")


def _crosstab_sheet(out: _Sheets, results: Results, wanted: list[tuple[int, str]]) -> None:
    ws = out.sheet(_("Cross-tabs"), header_rows=0)
    specs = list(wanted)
    segment = None
    if results.index.source == SOURCE_ATTRIBUTES:
        segment = "attr:brand"
    elif results.index.source == SOURCE_QUESTION:
        segment = f"q:{results.index.source_question.pk}"
    if segment:
        for q in results.questions:
            if q.type in SINGLE_CODED and f"q:{q.pk}" != segment:
                specs.append((q.pk, segment))
    if not specs:
        out.row(
            ws,
            [_("No cross-tab was asked for and no segment source is available.")],
            measure=False,
        )
    seen = set()
    for row_pk, column_key in specs:
        if (row_pk, column_key) in seen:
            continue
        seen.add((row_pk, column_key))
        row_q = results.question(row_pk)
        kind, _sep, key = column_key.partition(":")
        column = results.question(int(key)) if kind == "q" and key.isdigit() else key
        if row_q is None or row_q.type not in CLOSED_TYPES or column is None:
            continue
        try:
            table = crosstab_module.crosstab(
                row=row_q, column=column, responses=results.responses, kept=results.kept
            )
        except ValueError:
            continue
        out.row(ws, [table.row_title, "×", table.column_title], bold=True, measure=False)
        out.row(ws, ["", *table.column_labels, _("Total")], bold=True)
        percents = table.percents
        totals = table.total_percents
        for i, label in enumerate(table.row_labels):
            cells = []
            for j in range(len(table.column_labels)):
                mark = table.marks[i][j] if table.marks else ""
                cells.append(out.share(ws, percents[i][j], mark=mark))
            out.row(ws, [label, *cells, out.share(ws, totals[i])])
        out.row(ws, [_("Base"), *table.column_bases, table.total_base])
        if table.chi is not None:
            out.row(
                ws,
                [
                    "χ²",
                    round(table.chi.statistic, 4),
                    _("df"),
                    table.chi.dof,
                    "p",
                    table.chi.p_value,
                ],
            )
        for note in table.notes:
            out.row(ws, [note])
        out.row(ws, [])


def _codebook(out: _Sheets, results: Results, columns: list) -> None:
    ws = out.sheet(_("Codebook"))
    out.row(
        ws,
        [_("Variable"), _("Question"), _("Question text"), _("Type"), _("Codes and labels")],
        bold=True,
    )
    for name, label in (
        ("id", _("Interview number")),
        ("reference", _("Reference")),
        ("status", _("Status")),
        ("started_at", _("Started at")),
        ("finished_at", _("Finished at")),
        ("agent", _("Agent")),
        *(CONTACT_COLUMNS if results.campaign is not None else ()),
    ):
        out.row(ws, [name, "", str(label), "", ""])
    specials = "; ".join(f"{code}={Special(s).label}" for s, code in SPECIAL_CODES.items())
    for variable, q, choice in columns:
        if choice is not None:
            codes = _("1=chosen; 0=not chosen") + f"; {specials}"
            text = f"{q.text} — {choice.label}"
        elif q.type in CLOSED_TYPES:
            codes = "; ".join(f"{c.code}={c.label}" for c in q.choices.all()) + f"; {specials}"
            text = q.text
        else:
            codes = specials
            text = q.text
        out.row(ws, [variable, q.code, text, q.get_type_display(), codes])


def _columns(results: Results) -> list:
    """(variable name, question, choice or None) per data column."""
    columns = []
    for q in results.questions:
        if q.type == QuestionType.MULTIPLE:
            columns += [(f"{q.code}_{c.code}", q, c) for c in q.choices.all()]
        else:
            columns.append((q.code, q, None))
    return columns


def _merge(results: Results) -> Iterator[tuple[tuple, dict, dict]]:
    """(interview, {question id: (number, text, special)}, {question id: [choice ids]}) per
    interview in id order, from three streams ordered by interview."""
    ids = results.responses.order_by().values("pk")
    fields = ["pk", "reference", "status", "started_at", "finished_at", "agent_shown_as"]
    if results.campaign is not None:
        fields += [f"interview__contact__{name}" for name, _label in CONTACT_COLUMNS]
    interviews = (
        results.responses.order_by("pk")
        .annotate(agent_shown_as=user_shown_as("created_by__"))
        .values_list(*fields)
        .iterator(chunk_size=CHUNK)
    )
    answers = (
        Answer.objects.filter(response__in=ids)
        .order_by("response_id")
        .values_list("response_id", "question_id", "number", "text", "special")
        .iterator(chunk_size=CHUNK)
    )
    choices = (
        AnswerChoice.objects.filter(answer__response__in=ids)
        .order_by("answer__response_id")
        .values_list("answer__response_id", "question_id", "choice_id")
        .iterator(chunk_size=CHUNK)
    )
    next_answer = next(answers, None)
    next_choice = next(choices, None)
    for interview in interviews:
        pk = interview[0]
        given: dict = {}
        chosen: dict = {}
        while next_answer is not None and next_answer[0] <= pk:
            if next_answer[0] == pk:
                given[next_answer[1]] = next_answer[2:]
            next_answer = next(answers, None)
        while next_choice is not None and next_choice[0] <= pk:
            if next_choice[0] == pk:
                chosen.setdefault(next_choice[1], []).append(next_choice[2])
            next_choice = next(choices, None)
        yield interview, given, chosen


def _data_sheets(
    out: _Sheets,
    results: Results,
    columns: list,
    *,
    show_phones: bool,
    progress: Callable[[int], None],
) -> None:
    codes_ws = out.sheet(_("Data"), streamed=True)
    labels_ws = out.sheet(_("Data (labels)"), streamed=True)
    head = ["id", "reference", "status", "started_at", "finished_at", "agent"]
    if results.campaign is not None:
        head += [name for name, _label in CONTACT_COLUMNS]
    label_questions = list(results.questions)
    codes_head = [*head, *(name for name, _q, _c in columns)]
    labels_head = [*head, *(q.code for q in label_questions)]
    out.layout(codes_ws, _data_widths(codes_head, head, [None] * len(columns)))
    out.layout(labels_ws, _data_widths(labels_head, head, label_questions))
    out.row(codes_ws, codes_head, bold=True)
    out.row(labels_ws, labels_head, bold=True)
    _PlainRows(codes_ws)
    _PlainRows(labels_ws)
    choice_info = {c.pk: (c.code, c.label) for q in results.questions for c in q.choices.all()}
    special_labels = {code: str(label) for code, label in Special.choices}
    status_labels: dict[str, str] = {}
    plan = [
        (q.pk, choice.pk if choice is not None else None, q.type in CLOSED_TYPES)
        for _name, q, choice in columns
    ]
    label_plan = [(q.pk, q.type in CLOSED_TYPES) for q in label_questions]
    text = out.text
    masked = (lambda t: t) if show_phones else mask_phones_in_text
    zone = timezone.get_current_timezone()
    total = max(results.interviews, 1)
    done = 0
    for interview, given, chosen in _merge(results):
        pk, reference, status, started, finished, agent = interview[:6]
        contact = list(interview[6:])
        if contact and not show_phones:
            contact[0] = mask_phone(contact[0])
        if not show_phones:
            reference = mask_reference(reference)
        if status not in status_labels:
            status_labels[status] = str(_status_label(status))
        started = started.astimezone(zone).replace(tzinfo=None) if started else None
        finished = finished.astimezone(zone).replace(tzinfo=None) if finished else None
        coded = [
            pk,
            text(codes_ws, reference),
            status,
            started,
            finished,
            text(codes_ws, agent),
            *(text(codes_ws, value) for value in contact),
        ]
        for question_id, choice_id, closed in plan:
            answer = given.get(question_id)
            if answer is None:
                coded.append(None)
                continue
            number, written, special = answer
            if special:
                coded.append(SPECIAL_CODES.get(special))
            elif choice_id is not None:
                coded.append(1 if choice_id in chosen.get(question_id, ()) else 0)
            elif closed:
                picked = chosen.get(question_id)
                coded.append(choice_info[picked[0]][0] if picked else None)
            elif number is not None:
                coded.append(number)
            else:
                coded.append(text(codes_ws, masked(written)) if written else None)
        labelled = [
            pk,
            text(labels_ws, reference),
            status_labels[status],
            started,
            finished,
            text(labels_ws, agent),
            *(text(labels_ws, value) for value in contact),
        ]
        for question_id, closed in label_plan:
            answer = given.get(question_id)
            if answer is None:
                labelled.append(None)
                continue
            number, written, special = answer
            if special:
                labelled.append(special_labels.get(special, special))
            elif closed:
                names = "; ".join(choice_info[c][1] for c in chosen.get(question_id, ()))
                labelled.append(text(labels_ws, names) if names else None)
            elif number is not None:
                labelled.append(number)
            else:
                labelled.append(text(labels_ws, masked(written)) if written else None)
        codes_ws.append(coded)
        labels_ws.append(labelled)
        done += 1
        if done % CHUNK == 0:
            progress(30 + int(60 * done / total))


# Width of the interview's own columns in the data sheets (id, reference, status, started,
# finished, agent, then the contact's phone, name, brand, region, segment).
_HEAD_WIDTHS = (9, 16, 10, DATETIME_WIDTH, DATETIME_WIDTH, 12, 14, 10, 10, 10, 10)


def _data_widths(header: list, head: list, questions: list) -> ColumnWidths:
    """A data sheet's widths, known before its rows: the interview's columns by their kind,
    each answer's as wide as its name (labels: closed answers wider, for their text)."""
    widths = ColumnWidths()
    widths.feed(header)
    for column, width in enumerate(_HEAD_WIDTHS[: len(head)], 1):
        widths.at_least(column, width)
    for column, q in enumerate(questions, len(head) + 1):
        widths.at_least(column, 8 if q is None else 20)
    return widths


def _open_answers(out: _Sheets, results: Results, *, show_phones: bool) -> None:
    ws = out.sheet(_("Open answers"), streamed=True)
    header = [_("Interview"), _("Question"), _("Question text"), _("Answer"), _("Recording")]
    widths = ColumnWidths()
    widths.feed(header)
    for column, width in enumerate((9, 8, 40, 50, 30), 1):
        widths.at_least(column, width)
    out.layout(ws, widths)
    out.row(ws, header, bold=True)
    _PlainRows(ws)
    ids = results.responses.order_by().values("pk")
    texts = {q.pk: q for q in results.questions}
    open_ids = [q.pk for q in results.questions if q.type == QuestionType.TEXT]
    spoken = _spoken_recordings(ids, open_ids)
    rows = (
        Answer.objects.filter(question_id__in=open_ids, response__in=ids, special="")
        .exclude(text="")
        .order_by("question_id", "response_id")
        .values_list("response_id", "question_id", "text")
        .iterator(chunk_size=CHUNK)
    )
    for response_id, question_id, text in rows:
        q = texts[question_id]
        shown = text if show_phones else mask_phones_in_text(text)
        out.row(ws, [response_id, q.code, q.text, shown, spoken.pop((response_id, q.pk), None)])
    # Answers recorded aloud without a transcript: the recording is the answer.
    for (response_id, question_id), link in sorted(spoken.items()):
        q = texts[question_id]
        out.row(ws, [response_id, q.code, q.text, None, link])
    specified = (
        AnswerChoice.objects.filter(answer__response__in=ids)
        .exclude(specify_text="")
        .order_by("question_id", "answer__response_id")
        .values_list("answer__response_id", "question_id", "choice__label", "specify_text")
        .iterator(chunk_size=CHUNK)
    )
    for response_id, question_id, label, text in specified:
        q = texts[question_id]
        shown = text if show_phones else mask_phones_in_text(text)
        out.row(ws, [response_id, q.code, f"{q.text} — {label}", shown])


def _spoken_recordings(response_ids, question_ids) -> dict[tuple[int, int], str]:
    """{(response, question): the address in Waihu of its spoken answer's recording}: Waihu
    streams it to those who may hear it; the carrier's own address needs the account's
    credentials and is never shown."""
    from django.urls import reverse

    from outbound.models import SpokenAnswer

    found = (
        SpokenAnswer.objects.filter(
            interview__response_id__in=response_ids,
            question_id__in=question_ids,
            recording_status="completed",
        )
        .exclude(recording_sid="")
        .values_list("interview__response_id", "question_id", "recording_sid")
    )
    return {
        (response_id, question_id): settings.PUBLIC_BASE_URL
        + reverse("recordings:audio", kwargs={"sid": sid, "format": "mp3"})
        for response_id, question_id, sid in found
    }


def workbook_write(
    *,
    results: Results,
    target: str | os.PathLike,
    show_phones: bool = False,
    crosstabs: list[tuple[int, str]] | None = None,
    analysis: Analysis | None = None,
    progress: Callable[[int], None] = lambda _p: None,
) -> None:
    """Write the whole workbook of the results to `target`."""
    out = _Sheets(Workbook(write_only=True))
    _summary(out, results, analysis, results.filters)
    _calls_sheet(out, results)
    progress(10)
    _question_sheets(out, results)
    progress(20)
    _crosstab_sheet(out, results, crosstabs or [])
    progress(30)
    columns = _columns(results)
    if connection.vendor == "postgresql":
        # Server-side cursors stream inside a transaction (one consistent snapshot).
        with analytics():
            _data_sheets(out, results, columns, show_phones=show_phones, progress=progress)
    else:
        _data_sheets(out, results, columns, show_phones=show_phones, progress=progress)
    progress(92)
    _codebook(out, results, columns)
    _open_answers(out, results, show_phones=show_phones)
    out.finish()
    out.workbook.save(target)


def export_build(*, job_id: int) -> ExportJob | None:
    """Run a queued export job: claim it, write the workbook under MEDIA_ROOT, record the
    file or the error."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, progress=1
    )
    if claimed != 1:
        return None
    job = ExportJob.objects.select_related(
        "version__questionnaire",
        "created_by",
        "work_order__questionnaire__questionnaire",
        "work_order__requester",
        "work_order__department",
    ).get(pk=job_id)
    folder = Path(settings.MEDIA_ROOT) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    if job.work_order_id:
        name = f"campaign-{job.work_order_id}-{job.pk}.xlsx"
    else:
        name = f"results-{job.version_id}-{job.pk}.xlsx"

    def progress(value: int) -> None:
        ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            progress=max(1, min(99, value))
        )

    temporary = None
    try:
        filters = ResultFilters.from_json(job.options.get("filters"))
        fd, temporary = tempfile.mkstemp(suffix=".xlsx", dir=folder)
        os.close(fd)
        language = getattr(job.created_by, "language", "") or settings.LANGUAGE_CODE
        with translation.override(language):
            # The tables in one transaction; the progress is written outside it, so the
            # page that polls sees it.
            with analytics():
                if job.work_order_id:
                    results = results_build(campaign=job.work_order, filters=filters)
                    analysis = Analysis.objects.filter(work_order=job.work_order_id).first()
                else:
                    results = results_build(version=job.version, filters=filters)
                    analysis = Analysis.objects.filter(
                        version=job.version, work_order__isnull=True
                    ).first()
            workbook_write(
                results=results,
                target=temporary,
                show_phones=job.show_phones,
                crosstabs=[tuple(pair) for pair in job.options.get("crosstabs", [])],
                analysis=analysis,
                progress=progress,
            )
        os.replace(temporary, folder / name)
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        return None
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE,
        progress=100,
        file=f"exports/{name}",
        finished_at=timezone.now(),
    )
    job.refresh_from_db()
    return job
