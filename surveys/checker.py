"""The logic checker: everything that keeps a questionnaire from being used, or that looks
like a mistake, as a list of findings. It works on a Script, so it can judge an in-memory
script as well as a stored version.

Skip logic is judged the way the engine runs it: for every question the checker builds a
sample of every distinct kind of answer the question can receive (each choice, every
stretch of numbers between the rules' bounds, don't know, refused, no answer) and sends each
through the engine's own rule matching. Which rules fire, which never do, which questions
are reached and whether the closing is reachable all follow from that.

Decisions written down here:
- In a voice survey a number question (and the 0-10 recommendation) is a warning, not an
  error: callers can key digits and finish with #, and the text must tell them so. An open
  text question is fine: the caller answers aloud, recorded or recognised as text.
- Read time is counted in Chinese characters for zh-hans scripts (120-150 a minute) and in
  words for English ones (130-160 a minute); Latin words in a Chinese text count as one
  character each and Chinese characters in an English text as one word each. A placeholder
  counts as three characters or two words.
- The promise is compared with the typical path, read at the middle of the pace range (the
  pace the automated voice is set to speak at, see speech_pace), with
  an answer pause after every question that takes an answer (WAIHU_ANSWER_PAUSE_SECONDS,
  default 5); it may differ by the margin (WAIHU_DURATION_MARGIN, default 0.3 = 30%) or half
  a minute, whichever is larger, since a promise is given in whole minutes. Shortest and
  longest paths are reported in the message so the designer sees the spread.
- Marketing: the identity check before any consent, and the offer period and the way to
  cancel in the closing, are errors."""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from surveys.engine import (
    AnswerValue,
    End,
    QuestionSpec,
    RuleSpec,
    Script,
    rule_is_usable,
    rule_matches,
    script_build,
    successor,
)
from surveys.models import (
    CHOICE_TYPES,
    NUMBER_TYPES,
    Action,
    Condition,
    Language,
    QuestionType,
)
from surveys.placeholders import placeholder_name_is_valid, placeholders_in, placeholders_known

if TYPE_CHECKING:
    from surveys.models import QuestionnaireVersion


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    level: Level
    code: str
    location: str
    message: str
    hint: str

    @property
    def is_error(self) -> bool:
        return self.level == Level.ERROR


PART_GREETING = "greeting"
PART_TRANSITION = "transition"
PART_BODY = "body"
PART_CLOSING = "closing"
PART_SETTINGS = "settings"

MAX_KEYPAD_OPTIONS = 10
PLACEHOLDER_CHARS = 3
PLACEHOLDER_WORDS = 2

OFFER_PERIOD_WORDS = ("有效期", "期限", "有效", "期间", "valid", "period", "until", "expire")
CANCEL_WORDS = ("取消", "退订", "cancel", "unsubscribe", "opt out")

CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['’.-][A-Za-z0-9]+)*")
PLACEHOLDER_RE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def _part_elements() -> list[tuple[str, str, str]]:
    """(field, part, element name) for every element of the greeting, transition, closing."""
    return [
        ("greeting_salutation", PART_GREETING, _("salutation")),
        ("greeting_introduction", PART_GREETING, _("self-introduction")),
        ("transition_purpose", PART_TRANSITION, _("purpose of the call")),
        ("transition_duration_minutes", PART_TRANSITION, _("promised duration")),
        ("transition_cost", PART_TRANSITION, _("cost or reward")),
        ("closing_summary", PART_CLOSING, _("summary")),
        ("closing_thanks", PART_CLOSING, _("thanks")),
        ("closing_wishes", PART_CLOSING, _("good wishes")),
    ]


def _part_name(part: str) -> str:
    return {
        PART_GREETING: _("greeting"),
        PART_TRANSITION: _("transition"),
        PART_BODY: _("body"),
        PART_CLOSING: _("closing"),
        PART_SETTINGS: _("settings"),
    }[part]


# --- entry points ------------------------------------------------------------------------


def check_version(version: QuestionnaireVersion) -> list[Finding]:
    """Check a stored version."""
    return check_script(script_build(version))


def check_script(script: Script) -> list[Finding]:
    checker = _Checker(script)
    checker.run()
    return checker.findings


def has_errors(findings: list[Finding]) -> bool:
    return any(f.is_error for f in findings)


# --- the checks --------------------------------------------------------------------------


class _Checker:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.findings: list[Finding] = []
        # (question index, rule index) of rules already reported for their structure.
        self.broken_rules: set[tuple[int, int]] = set()

    def add(self, level: Level, code: str, location: str, message: str, hint: str) -> None:
        self.findings.append(Finding(level, code, location, message, hint))

    def error(self, code: str, location: str, message: str, hint: str) -> None:
        self.add(Level.ERROR, code, location, message, hint)

    def warning(self, code: str, location: str, message: str, hint: str) -> None:
        self.add(Level.WARNING, code, location, message, hint)

    def run(self) -> None:
        self.check_parts()
        self.check_questions()
        self.check_voice()
        self.check_rule_structure()
        self.check_placeholders()
        if not self.script.questions:
            return
        if any(self._duplicate_codes()):
            return
        graph = _Graph(self.script)
        self.check_rule_firing(graph)
        self.check_reach(graph)
        if self.script.is_marketing:
            self.check_marketing(graph)
        self.check_duration(graph)

    # parts

    def check_parts(self) -> None:
        parts = self.script.parts
        for field, part, element in _part_elements():
            value = getattr(parts, field)
            empty = value is None or (isinstance(value, str) and not value.strip())
            if field == "transition_duration_minutes":
                empty = not value
            if empty:
                self.error(
                    "part_missing",
                    part,
                    _("The %(part)s has no %(element)s.")
                    % {"part": _part_name(part), "element": element},
                    _("Fill in the %(element)s of the %(part)s; every part must be complete.")
                    % {"part": _part_name(part), "element": element},
                )
        if not self.script.questions:
            self.error(
                "body_empty",
                PART_BODY,
                _("The body has no questions."),
                _("Add at least one question to the body."),
            )
        if self.script.is_marketing:
            closing = " ".join(t for _f, t in parts.texts(section="closing")).lower()
            if not any(word in closing for word in OFFER_PERIOD_WORDS):
                self.error(
                    "marketing_closing_period",
                    PART_CLOSING,
                    _("The closing of a marketing call does not state the offer's period."),
                    _(
                        "Tell the customer in the closing how long the offer is valid, e.g. "
                        "“有效期为…” or “valid until …”."
                    ),
                )
            if not any(word in closing for word in CANCEL_WORDS):
                self.error(
                    "marketing_closing_cancel",
                    PART_CLOSING,
                    _("The closing of a marketing call does not say how to cancel the service."),
                    _(
                        "Tell the customer in the closing how to cancel, e.g. "
                        "“如需取消，请发送…” or “to cancel, …”."
                    ),
                )

    # questions and choices

    def _duplicate_codes(self) -> list[str]:
        counts = Counter(q.code for q in self.script.questions)
        return [code for code, n in counts.items() if n > 1]

    def check_questions(self) -> None:
        for code in self._duplicate_codes():
            self.error(
                "question_code_duplicate",
                code,
                _("More than one question has the code %(code)s.") % {"code": code},
                _("Give each question its own code."),
            )
        for q in self.script.questions:
            if q.code.strip() == "":
                self.error(
                    "question_code_empty",
                    PART_BODY,
                    _("A question has no code."),
                    _("Give each question a code, such as Q1."),
                )
            if not q.text.strip():
                self.error(
                    "question_text_empty",
                    q.code,
                    _("Question %(q)s has no text to read.") % {"q": q.code},
                    _("Write the words the caller reads out for %(q)s.") % {"q": q.code},
                )
            if (
                q.type == QuestionType.NUMBER
                and q.min_value is not None
                and q.max_value is not None
                and q.min_value > q.max_value
            ):
                self.error(
                    "number_bounds",
                    q.code,
                    _("Question %(q)s has a minimum above its maximum.") % {"q": q.code},
                    _("Swap or correct the minimum and maximum of %(q)s.") % {"q": q.code},
                )
            if q.type in CHOICE_TYPES:
                self._check_choices(q)
            elif q.choices:
                self.warning(
                    "choices_unused",
                    q.code,
                    _("Question %(q)s has choices, but its type does not use them.")
                    % {"q": q.code},
                    _("Delete the choices or change the type of %(q)s.") % {"q": q.code},
                )

    def _check_choices(self, q: QuestionSpec) -> None:
        if not q.choices:
            self.error(
                "choices_missing",
                q.code,
                _("Question %(q)s has no choices.") % {"q": q.code},
                _("Add the answer choices of %(q)s, or apply a preset scale.") % {"q": q.code},
            )
            return
        for code, n in Counter(c.code for c in q.choices).items():
            if n > 1:
                self.error(
                    "choice_code_duplicate",
                    q.code,
                    _("Question %(q)s has more than one choice with code %(code)s.")
                    % {"q": q.code, "code": code},
                    _("Give each choice of %(q)s its own code.") % {"q": q.code},
                )
        for c in q.choices:
            if not c.label.strip():
                self.error(
                    "choice_label_missing",
                    q.code,
                    _("Choice %(code)s of question %(q)s has no label.")
                    % {"q": q.code, "code": c.code},
                    _("Write the words of choice %(code)s.") % {"code": c.code},
                )
        if (
            q.type == QuestionType.MULTIPLE
            and q.required
            and not any(c.exclusive for c in q.choices)
        ):
            self.warning(
                "multiple_required_without_none",
                q.code,
                _(
                    "Question %(q)s must be answered, but a customer who has none of its "
                    "choices has nothing to pick."
                )
                % {"q": q.code},
                _(
                    "Make %(q)s optional, or add an exclusive choice such as “都没有” "
                    "(none of these)."
                )
                % {"q": q.code},
            )
        for digit, n in Counter(c.keypad for c in q.choices if c.keypad).items():
            if n > 1:
                self.error(
                    "keypad_duplicate",
                    q.code,
                    _(
                        "In question %(q)s the keypad digit %(digit)s is used by more than one "
                        "choice."
                    )
                    % {"q": q.code, "digit": digit},
                    _("Give each choice of %(q)s its own keypad digit.") % {"q": q.code},
                )

    def check_voice(self) -> None:
        if not self.script.is_voice:
            return
        for q in self.script.questions:
            if q.type in CHOICE_TYPES:
                if len(q.choices) > MAX_KEYPAD_OPTIONS:
                    self.error(
                        "voice_too_many_choices",
                        q.code,
                        _("Question %(q)s has %(n)s choices; a keypad offers at most ten.")
                        % {"q": q.code, "n": len(q.choices)},
                        _("Cut %(q)s to ten choices or split it into two questions.")
                        % {"q": q.code},
                    )
                missing = [str(c.code) for c in q.choices if not c.keypad]
                if missing:
                    self.error(
                        "voice_keypad_missing",
                        q.code,
                        _("In question %(q)s choices %(codes)s have no keypad digit.")
                        % {"q": q.code, "codes": ", ".join(missing)},
                        _("A voice survey needs a keypad digit for every choice."),
                    )
                if any(c.specify for c in q.choices):
                    self.warning(
                        "voice_specify",
                        q.code,
                        _("Question %(q)s asks to specify “other”, which a keypad cannot record.")
                        % {"q": q.code},
                        _("Turn off “please specify” in a voice survey."),
                    )
            elif q.type in NUMBER_TYPES:
                self.warning(
                    "voice_number",
                    q.code,
                    _("Question %(q)s asks for a number on the keypad.") % {"q": q.code},
                    _("Make sure the text tells the caller to key the digits and finish with #."),
                )

    # rules: structure

    def check_rule_structure(self) -> None:
        script = self.script
        for i, q in enumerate(script.questions):
            for j, rule in enumerate(q.rules):
                where = _("rule %(n)s of question %(q)s") % {"n": j + 1, "q": q.code}
                if rule.action == Action.GOTO:
                    target = script.index_of(rule.target)
                    if rule.target_elsewhere:
                        self.broken_rules.add((i, j))
                        self.error(
                            "rule_target_other_version",
                            q.code,
                            _("The %(where)s jumps to a question of another version.")
                            % {"where": where},
                            _("Pick a question of this version as the target."),
                        )
                    elif target is None:
                        self.broken_rules.add((i, j))
                        self.error(
                            "rule_target_missing",
                            q.code,
                            _("The %(where)s jumps to a question that does not exist.")
                            % {"where": where},
                            _("Pick an existing question after %(q)s as the target.")
                            % {"q": q.code},
                        )
                    elif target <= i:
                        self.broken_rules.add((i, j))
                        self.error(
                            "rule_target_backward",
                            q.code,
                            _("The %(where)s jumps back to %(target)s; jumps only go forward.")
                            % {"where": where, "target": rule.target},
                            _("Pick a question after %(q)s, or move the questions.")
                            % {"q": q.code},
                        )
                if rule.condition in (Condition.CHOICE, Condition.ANY_OF) and (
                    q.type in CHOICE_TYPES
                ):
                    foreign = [r for r in rule.choices if r.question != q.code]
                    own = [r for r in rule.choices if r.question == q.code]
                    unknown = [r for r in own if q.choice(r.code) is None]
                    if foreign:
                        self.broken_rules.add((i, j))
                        self.error(
                            "rule_foreign_choice",
                            q.code,
                            _("The %(where)s tests choices of question %(other)s.")
                            % {"where": where, "other": foreign[0].question},
                            _(
                                "A rule can only test choices of its own question; "
                                "pick choices of %(q)s."
                            )
                            % {"q": q.code},
                        )
                    if unknown:
                        self.broken_rules.add((i, j))
                        self.error(
                            "rule_unknown_choice",
                            q.code,
                            _("The %(where)s tests a choice code that %(q)s does not have.")
                            % {"where": where, "q": q.code},
                            _("Pick existing choices of %(q)s.") % {"q": q.code},
                        )
                    if not own and not foreign:
                        self.broken_rules.add((i, j))
                        self.error(
                            "rule_no_choices",
                            q.code,
                            _("The %(where)s tests no choice.") % {"where": where},
                            _("Pick the choices the rule tests, or delete the rule."),
                        )

    # rules: firing, reach

    def check_rule_firing(self, graph: _Graph) -> None:
        for i, q in enumerate(self.script.questions):
            for j, rule in enumerate(q.rules):
                if (i, j) in self.broken_rules:
                    continue
                where = _("rule %(n)s of question %(q)s") % {"n": j + 1, "q": q.code}
                if not graph.matchable[i][j]:
                    self.error(
                        "rule_never_fires",
                        q.code,
                        _("The %(where)s can never apply: %(reason)s")
                        % {"where": where, "reason": _never_reason(q, rule)},
                        _("Change the condition of the rule, or delete it."),
                    )
                elif not graph.fired[i][j]:
                    self.warning(
                        "rule_preempted",
                        q.code,
                        _("The %(where)s never applies: an earlier rule always matches first.")
                        % {"where": where},
                        _("Move the rule above the earlier one, or narrow the earlier rule."),
                    )

    def check_reach(self, graph: _Graph) -> None:
        for i, q in enumerate(self.script.questions):
            if i not in graph.reachable:
                self.warning(
                    "question_unreachable",
                    q.code,
                    _("No path through the questionnaire reaches question %(q)s.") % {"q": q.code},
                    _("Check the skip rules before %(q)s, or delete it.") % {"q": q.code},
                )
        if not graph.closing_reachable:
            self.error(
                "closing_unreachable",
                PART_BODY,
                _(
                    "Every path through the questionnaire ends in a screen-out; "
                    "none reaches the closing."
                ),
                _("Let at least one answer lead on to the closing."),
            )

    def check_marketing(self, graph: _Graph) -> None:
        script = self.script
        consent = [i for i, q in enumerate(script.questions) if q.records_consent]
        # Breadth-first over (question, identity confirmed yet) from the first question.
        start = (0, False)
        seen = {start}
        queue = deque([start])
        bad: set[int] = set()
        while queue:
            i, confirmed = queue.popleft()
            q = script.questions[i]
            if q.records_consent and not confirmed:
                bad.add(i)
            after = confirmed or q.confirms_identity
            for nxt in graph.successors[i]:
                if isinstance(nxt, End):
                    continue
                state = (nxt, after)
                if state not in seen:
                    seen.add(state)
                    queue.append(state)
        for i in consent:
            if i in bad:
                q = script.questions[i]
                self.error(
                    "consent_before_identity",
                    q.code,
                    _(
                        "Question %(q)s records consent, but a path reaches it without first "
                        "confirming the customer's identity."
                    )
                    % {"q": q.code},
                    _("Put a question that confirms identity before %(q)s on every path.")
                    % {"q": q.code},
                )

    # placeholders

    def check_placeholders(self) -> None:
        script = self.script
        for name in script.extra_placeholders:
            if not placeholder_name_is_valid(name):
                self.error(
                    "placeholder_name_invalid",
                    PART_SETTINGS,
                    _("“%(name)s” is not a valid placeholder name.") % {"name": name},
                    _("Use letters, digits and underscores, starting with a letter."),
                )
        known = placeholders_known(script.extra_placeholders)
        texts: list[tuple[str, str]] = [
            (field.split("_", 1)[0], text) for field, text in script.parts.texts()
        ]
        for q in script.questions:
            texts.append((q.code, q.text))
            texts.append((q.code, q.instruction))
            texts.extend((q.code, c.label) for c in q.choices)
        reported: set[tuple[str, str]] = set()
        for location, text in texts:
            for name in placeholders_in(text):
                if name in known or (location, name) in reported:
                    continue
                reported.add((location, name))
                self.error(
                    "placeholder_unknown",
                    location,
                    _("The placeholder {%(name)s} in the %(where)s is not known.")
                    % {"name": name, "where": _location_name(location)},
                    _(
                        "Use one of %(known)s, or declare {%(name)s} among the questionnaire's "
                        "extra placeholders."
                    )
                    % {"known": ", ".join(f"{{{k}}}" for k in sorted(known)), "name": name},
                )

    # duration

    def check_duration(self, graph: _Graph) -> None:
        script = self.script
        promised = script.parts.transition_duration_minutes
        if not promised or not graph.closing_reachable:
            return
        estimate = estimate_duration(script, graph)
        margin = float(getattr(settings, "WAIHU_DURATION_MARGIN", 0.3))
        typical = estimate.typical_minutes
        if typical <= 0:
            return
        # A promise is a whole number of minutes, so half a minute either way is rounding.
        if abs(promised - typical) > max(margin * typical, 0.5):
            self.warning(
                "duration_mismatch",
                PART_TRANSITION,
                _(
                    "The transition promises %(promised)s minutes, but reading the script takes "
                    "about %(typical)s minutes (shortest path %(shortest)s, longest %(longest)s)."
                )
                % {
                    "promised": promised,
                    "typical": _minutes(typical),
                    "shortest": _minutes(estimate.shortest_minutes),
                    "longest": _minutes(estimate.longest_minutes),
                },
                ngettext(
                    "Promise about %(typical)s minute, or change the script's length.",
                    "Promise about %(typical)s minutes, or change the script's length.",
                    max(1, round(typical)),
                )
                % {"typical": max(1, round(typical))},
            )


def _minutes(value: float) -> str:
    return f"{value:.1f}"


def _location_name(location: str) -> str:
    if location in (PART_GREETING, PART_TRANSITION, PART_CLOSING, PART_BODY, PART_SETTINGS):
        return _part_name(location)
    return _("question %(q)s") % {"q": location}


def _never_reason(q: QuestionSpec, rule: RuleSpec) -> str:
    if q.type == QuestionType.STATEMENT:
        return _("%(q)s is only read out, so only an “any answer” rule applies.") % {"q": q.code}
    if rule.condition in (Condition.CHOICE, Condition.ANY_OF) and q.type not in CHOICE_TYPES:
        return _("%(q)s has no choices.") % {"q": q.code}
    if rule.condition == Condition.RANGE:
        if q.type not in NUMBER_TYPES:
            return _("%(q)s does not take a number.") % {"q": q.code}
        return _("the range lies outside the numbers %(q)s accepts.") % {"q": q.code}
    if rule.condition == Condition.SPECIAL:
        return _("%(q)s does not allow that “don't know” or “refused” answer.") % {"q": q.code}
    return _("no answer %(q)s accepts matches it.") % {"q": q.code}


# --- the answer graph --------------------------------------------------------------------


def answer_samples(script: Script, q: QuestionSpec) -> list[AnswerValue]:
    """One answer of every kind the question can receive: together they make every rule
    that can fire fire, and every successor that can be reached appear."""
    samples: list[AnswerValue] = []
    if q.type == QuestionType.STATEMENT:
        return [AnswerValue.missing()]
    if q.type in CHOICE_TYPES:
        # Any set of choices leads where its first-matching single choice leads, so single
        # choices are enough even for multiple choice.
        samples.extend(AnswerValue.of_choices(c.code) for c in q.choices)
    elif q.type in NUMBER_TYPES:
        samples.extend(AnswerValue.of_number(n) for n in _number_samples(q))
    else:
        samples.append(AnswerValue.of_text("…"))
    if q.allow_dont_know:
        samples.append(AnswerValue.dont_know())
    if q.allow_refused:
        samples.append(AnswerValue.refused())
    if not q.required or script.is_voice or not samples:
        samples.append(AnswerValue.missing())
    return samples


def _number_samples(q: QuestionSpec) -> list[Decimal]:
    low, high = q.lower, q.upper
    points: set[Decimal] = set()
    for rule in q.rules:
        if rule.condition == Condition.RANGE:
            points.update(v for v in (rule.min_value, rule.max_value) if v is not None)
    points.update(v for v in (low, high) if v is not None)
    ordered = sorted(points)
    candidates = set(ordered)
    candidates.update((a + b) / 2 for a, b in pairwise(ordered))
    if ordered:
        candidates.add(ordered[0] - 1)
        candidates.add(ordered[-1] + 1)
    else:
        candidates.add(Decimal(0))
    return sorted(
        n for n in candidates if (low is None or n >= low) and (high is None or n <= high)
    )


class _Graph:
    """Successors of every question, found by sending its sample answers through the
    engine; and which rules ever match, which ever fire first, what is reachable."""

    def __init__(self, script: Script) -> None:
        self.script = script
        n = len(script.questions)
        self.successors: list[list[int | End]] = []
        self.weights: list[Counter] = []
        self.matchable: list[list[bool]] = []
        self.fired: list[list[bool]] = []
        for i, q in enumerate(script.questions):
            matchable = [False] * len(q.rules)
            fired = [False] * len(q.rules)
            weights: Counter = Counter()
            for sample in answer_samples(script, q):
                first = True
                for j, rule in enumerate(q.rules):
                    if rule_is_usable(script, i, rule) and rule_matches(q, rule, sample):
                        matchable[j] = True
                        if first:
                            fired[j] = True
                            first = False
                weights[successor(script, i, sample)] += 1
            self.matchable.append(matchable)
            self.fired.append(fired)
            self.weights.append(weights)
            self.successors.append(list(weights))
        self.reachable: set[int] = set()
        self.closing_reachable = False
        stack = [0] if n else []
        while stack:
            i = stack.pop()
            if i in self.reachable:
                continue
            self.reachable.add(i)
            for nxt in self.successors[i]:
                if nxt == End.CLOSING:
                    self.closing_reachable = True
                elif not isinstance(nxt, End):
                    stack.append(nxt)


# --- read time ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DurationEstimate:
    shortest_minutes: float
    typical_minutes: float
    longest_minutes: float


def speech_units(text: str, language: str) -> float:
    """Characters (Chinese) or words (English) it takes to read the text aloud."""
    placeholders = len(PLACEHOLDER_RE.findall(text or ""))
    bare = PLACEHOLDER_RE.sub(" ", text or "")
    cjk = len(CJK_RE.findall(bare))
    words = len(WORD_RE.findall(bare))
    per_placeholder = PLACEHOLDER_WORDS if language == Language.EN else PLACEHOLDER_CHARS
    return cjk + words + placeholders * per_placeholder


@dataclass(frozen=True)
class Pace:
    """Reading speed in characters (Chinese) or words (English) a minute: the customer's
    range, and the target an automated voice is set to and the typical estimate assumes."""

    slow: float
    fast: float

    @property
    def target(self) -> float:
        return (self.slow + self.fast) / 2


def speech_pace(language: str) -> Pace:
    """The reading pace for a questionnaire language, from the settings."""
    if language == Language.EN:
        low = getattr(settings, "WAIHU_SPEECH_WORDS_PER_MINUTE_MIN", 130)
        high = getattr(settings, "WAIHU_SPEECH_WORDS_PER_MINUTE_MAX", 160)
    else:
        low = getattr(settings, "WAIHU_SPEECH_CHARS_PER_MINUTE_MIN", 120)
        high = getattr(settings, "WAIHU_SPEECH_CHARS_PER_MINUTE_MAX", 150)
    return Pace(float(low), float(high))


def estimate_duration(script: Script, graph: _Graph | None = None) -> DurationEstimate:
    """Minutes to read the greeting, the transition, the questions of a path (with their
    choices) and the closing, plus an answer pause per question, along the shortest and
    longest paths that reach the closing and along the typical one (at each question the
    successor most kinds of answer lead to)."""
    graph = graph or _Graph(script)
    language = script.language
    pause = float(getattr(settings, "WAIHU_ANSWER_PAUSE_SECONDS", 5))
    pace = speech_pace(language)
    slow, fast, middle = pace.slow, pace.fast, pace.target

    def cost(q: QuestionSpec) -> tuple[float, float]:
        units = speech_units(q.text, language)
        units += sum(speech_units(c.label, language) for c in q.choices)
        return units, 0.0 if q.type == QuestionType.STATEMENT else pause

    frame = sum(
        speech_units(t, language)
        for name, t in script.parts.texts()
        if name.startswith(("greeting", "transition"))
    )
    closing = sum(speech_units(t, language) for _f, t in script.parts.texts(section="closing"))
    n = len(script.questions)
    inf = float("inf")
    # (units, pause seconds) to the closing from each question, last question first.
    short: list[tuple[float, float] | None] = [None] * n
    long: list[tuple[float, float] | None] = [None] * n
    typical: list[tuple[float, float] | None] = [None] * n

    def seconds(pair: tuple[float, float], rate: float) -> float:
        return pair[0] / rate * 60 + pair[1]

    for i in range(n - 1, -1, -1):
        units, wait = cost(script.questions[i])
        best_short: tuple[float, float] | None = None
        best_long: tuple[float, float] | None = None
        for nxt in graph.successors[i]:
            if nxt == End.CLOSING:
                s = lo = (closing, 0.0)
            elif isinstance(nxt, End) or short[nxt] is None:
                continue
            else:
                s, lo = short[nxt], long[nxt]
            if best_short is None or seconds(s, fast) < seconds(best_short, fast):
                best_short = s
            if best_long is None or seconds(lo, slow) > seconds(best_long, slow):
                best_long = lo
        if best_short is None or best_long is None:
            continue
        short[i] = (units + best_short[0], wait + best_short[1])
        long[i] = (units + best_long[0], wait + best_long[1])
        ranked = sorted(
            (
                (-count, nxt if not isinstance(nxt, End) else inf, nxt)
                for nxt, count in graph.weights[i].items()
                if nxt == End.CLOSING or (not isinstance(nxt, End) and typical[nxt] is not None)
            ),
            key=lambda item: (item[0], item[1]),
        )
        choice = ranked[0][2]
        follow = (closing, 0.0) if choice == End.CLOSING else typical[choice]
        typical[i] = (units + follow[0], wait + follow[1])
    if not n or short[0] is None:
        return DurationEstimate(0.0, 0.0, 0.0)
    return DurationEstimate(
        shortest_minutes=(seconds(short[0], fast) + frame / fast * 60) / 60,
        typical_minutes=(seconds(typical[0], middle) + frame / middle * 60) / 60,
        longest_minutes=(seconds(long[0], slow) + frame / slow * 60) / 60,
    )
