"""Built-in answer scales that fill in a question's choices."""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from surveys.models import Language


class Preset(models.TextChoices):
    SATISFACTION_5 = "satisfaction5", _("Five-point satisfaction")
    SATISFACTION_5_BRANCH = "satisfaction5_branch", _("Five-point satisfaction (branch wording)")
    AGREEMENT_4 = "agreement4", _("Four-point agreement")
    YES_NO = "yes_no", _("Yes / no")


@dataclass(frozen=True)
class PresetChoice:
    code: int
    zh: str
    en: str
    keypad: str

    def label(self, language: str) -> str:
        return self.zh if language == Language.ZH_HANS else self.en


# The customer's own wording; the label is written in the questionnaire's language.
PRESETS: dict[str, tuple[PresetChoice, ...]] = {
    Preset.SATISFACTION_5: (
        PresetChoice(1, "非常满意", "Very satisfied", "1"),
        PresetChoice(2, "比较满意", "Quite satisfied", "2"),
        PresetChoice(3, "一般", "Average", "3"),
        PresetChoice(4, "不太满意", "Not very satisfied", "4"),
        PresetChoice(5, "非常差", "Very poor", "5"),
    ),
    # The wording of the branch's own published surveys.
    Preset.SATISFACTION_5_BRANCH: (
        PresetChoice(1, "非常满意", "Very satisfied", "1"),
        PresetChoice(2, "很满意", "Satisfied", "2"),
        PresetChoice(3, "一般", "Average", "3"),
        PresetChoice(4, "不太满意", "Not very satisfied", "4"),
        PresetChoice(5, "很差", "Poor", "5"),
    ),
    Preset.AGREEMENT_4: (
        PresetChoice(1, "完全同意", "Fully agree", "1"),
        PresetChoice(2, "部分同意", "Partly agree", "2"),
        PresetChoice(3, "中立", "Neutral", "3"),
        PresetChoice(4, "完全不同意", "Fully disagree", "4"),
    ),
    Preset.YES_NO: (
        PresetChoice(1, "是", "Yes", "1"),
        PresetChoice(2, "否", "No", "2"),
    ),
}

# Shown in the designer next to the preset's name.
PRESET_HELP = {
    Preset.SATISFACTION_5: pgettext_lazy(
        "preset", "Very satisfied, quite satisfied, average, not very satisfied, very poor"
    ),
    Preset.SATISFACTION_5_BRANCH: pgettext_lazy(
        "preset", "Very satisfied, satisfied, average, not very satisfied, poor"
    ),
    Preset.AGREEMENT_4: pgettext_lazy(
        "preset", "Fully agree, partly agree, neutral, fully disagree"
    ),
    Preset.YES_NO: pgettext_lazy("preset", "Yes, no"),
}
