"""Pydantic schema of a neocus dataset on disk (schema version :data:`SCHEMA_VERSION`).

Layout (see docs/dataset-format.md for the full description and an example)::

    DATASET/dataset.json                          DatasetRecord
    DATASET/cases/<case_id>/case.json             CaseRecord
    DATASET/cases/<case_id>/<sweep files>         listed in CaseRecord.sweeps (file name -> plane)
    DATASET/cases/<case_id>/views/<VIEW>.png      optional standard-view stills (VIEW from vocab.View)
    DATASET/cases/<case_id>/annotations/<sweep stem>.jsonl   one FrameAnnotation per line

Conventions:

* every label is a member of a :mod:`neocus.vocab` enum; pydantic rejects anything else;
* rotated boxes are ``(cx, cy, w, h, angle)`` in pixels of the frame as stored (x right, y down),
  long-edge convention of :mod:`neocus.geometry.rotated`: ``w >= h``, ``angle`` in degrees in [-90, 90);
* frame indices are 0-based positions in the decoded sweep;
* case ids (and subject ids) use a safe charset and must be pseudonyms, never patient identifiers;
* derived labels (``severe``, ``tier``, ``binary``) must agree with the vocabulary's rules
  (:func:`label_rule_problems`); a record built in code that breaks them raises ``ValidationError``.
  Readers that want to *report* every broken rule instead (``neocus validate``) validate with the
  context ``{SKIP_RULES: True}`` and call :func:`label_rule_problems` / :func:`case_rule_problems`.

Maps (``sweeps``, ``findings``, ``view_frames``, folds) are kept in a canonical order so that the same
record always serialises to the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from neocus.vocab import (
    VIEW_PLANE,
    VIEWS_IN_SWEEP_ORDER,
    Binary,
    Finding,
    IvhGrade,
    Plane,
    Tier,
    View,
    binary,
    case_findings,
    check_findings,
    is_severe,
    three_tier,
)

SCHEMA_VERSION = "neocus-dataset/1"
"""Version string written into ``dataset.json`` and every ``case.json``."""

DATASET_FILE = "dataset.json"
CASES_DIR = "cases"
CASE_FILE = "case.json"
VIEWS_DIR = "views"
ANNOTATIONS_DIR = "annotations"
VIEW_IMAGE_SUFFIX = ".png"
ANNOTATION_SUFFIX = ".jsonl"

SKIP_RULES = "skip_label_rules"
"""Validation-context key: when true, records parse without enforcing the label rules."""

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
"""Case and subject ids: letters, digits, ``_ . -``; 1-64 characters; not starting with a dot."""

FILE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
"""Sweep file names: a plain file name inside the case folder (no folders, no ``..``)."""

_ID_RE = re.compile(ID_PATTERN)

CaseId = Annotated[str, Field(pattern=ID_PATTERN, description="pseudonymous case id, safe charset")]
FileName = Annotated[str, Field(pattern=FILE_NAME_PATTERN, description="file name inside the case folder")]


def _known_version(v: str) -> str:
    if v != SCHEMA_VERSION:
        raise ValueError(f"unsupported schema version '{v}' (this neocus reads '{SCHEMA_VERSION}')")
    return v


SchemaVersion = Annotated[str, AfterValidator(_known_version)]


def is_valid_id(text: str) -> bool:
    """True when ``text`` is a valid case / subject id (see :data:`ID_PATTERN`)."""
    return bool(_ID_RE.match(text))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=False, use_enum_values=False)


def _raise_problems(problems: list[tuple[str, str]]) -> None:
    """Turn rule problems ``(field, message)`` into one pydantic validation error."""
    if problems:
        raise ValueError("; ".join(f"{field}: {msg}" for field, msg in problems))


def _rules_enabled(info: ValidationInfo) -> bool:
    return not (isinstance(info.context, dict) and info.context.get(SKIP_RULES))


def _view_order(view: View) -> int:
    return VIEWS_IN_SWEEP_ORDER.index(view)


_FINDING_ORDER = {f: i for i, f in enumerate(Finding)}


# --------------------------------------------------------------------------------------------------
# dataset.json
# --------------------------------------------------------------------------------------------------


class Provenance(_Model):
    """Where a dataset came from: the program that wrote it and how to reproduce it."""

    generator: str = Field(description="program or process that produced the data, e.g. 'neocus.phantom' or 'hospital export'")
    version: str | None = Field(default=None, description="version of the generator")
    seed: int | None = Field(default=None, description="random seed, for generated data")
    preset: str | None = Field(default=None, description="named generator preset")
    source: str | None = Field(default=None, description="free text: site / study the data came from (no PHI)")
    parameters: dict[str, Any] = Field(default_factory=dict, description="further generator settings (JSON values)")


class StratifyKey(StrEnum):
    """Which case label a split is stratified on (names of CaseLabels fields)."""

    SEVERE = "severe"
    TIER = "tier"
    NONE = "none"


class Splits(_Model):
    """Case-level splits: a held-out test set and k cross-validation folds over the remaining cases.

    ``folds`` maps a fold index (0..k-1) to the case ids *validated* in that fold; the model of fold i
    trains on ``train`` minus ``folds[i]``. When no test set is held out, ``test`` is empty and
    ``train`` lists every case.
    """

    seed: int | None = Field(default=None, description="seed the split was drawn with")
    stratify_on: StratifyKey = Field(default=StratifyKey.SEVERE, description="label the split is stratified on")
    group_by: str | None = Field(default=None, description="metadata key whose cases stay together (e.g. 'subject')")
    test_fraction: float | None = Field(default=None, ge=0.0, lt=1.0, description="share of cases held out as test")
    train: list[str] = Field(default_factory=list, description="case ids for development (training + CV)")
    test: list[str] = Field(default_factory=list, description="held-out test case ids")
    folds: dict[int, list[str]] = Field(default_factory=dict, description="fold index -> validation case ids")

    @field_validator("folds")
    @classmethod
    def _sorted_folds(cls, v: dict[int, list[str]]) -> dict[int, list[str]]:
        if any(k < 0 for k in v):
            raise ValueError("fold indices must be >= 0")
        return {k: v[k] for k in sorted(v)}

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Splits:
        if _rules_enabled(info):
            _raise_problems(split_rule_problems(self))
        return self

    def fold_train(self, fold: int) -> list[str]:
        """Case ids a model of ``fold`` trains on (development cases outside that fold)."""
        if fold not in self.folds:
            raise DatasetError(f"no fold {fold}", where="fold", hint=f"folds: {sorted(self.folds)}")
        held = set(self.folds[fold])
        pool = self.train or [c for ids in self.folds.values() for c in ids]
        return [c for c in pool if c not in held]


class DatasetRecord(_Model):
    """``dataset.json``: what the dataset is, where it came from, and how it is split."""

    schema_version: SchemaVersion = Field(default=SCHEMA_VERSION, description=f"always '{SCHEMA_VERSION}' for this schema")
    name: str = Field(min_length=1, description="short dataset name")
    description: str | None = None
    created: datetime | None = Field(
        default=None, description="creation time (ISO 8601); leave unset for byte-reproducible output"
    )
    provenance: Provenance
    cases: list[CaseId] | None = Field(
        default=None, description="case ids in the dataset; null = every folder under cases/ holding a case.json"
    )
    splits: Splits | None = None


# --------------------------------------------------------------------------------------------------
# case.json
# --------------------------------------------------------------------------------------------------


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNKNOWN = "U"


class CaseMetadata(_Model):
    """Clinical context kept for analysis. De-identified by design: no names, dates or hospital ids.

    Ages are relative (days since birth), gestation in completed weeks (fractions allowed).
    """

    subject: CaseId | None = Field(default=None, description="pseudonymous subject id; repeated exams of one baby share it")
    ga_weeks: float | None = Field(default=None, ge=18.0, le=45.0, description="gestational age at birth, weeks")
    birth_weight_g: float | None = Field(default=None, gt=0.0, le=7000.0, description="birth weight, grams")
    sex: Sex | None = None
    age_days: float | None = Field(default=None, ge=0.0, le=3650.0, description="age at the exam, days since birth")
    center: str | None = Field(default=None, max_length=64, description="site / hospital code (not a name of a person)")
    probe: str | None = Field(default=None, max_length=64, description="probe model, e.g. '9L'")
    scanner: str | None = Field(default=None, max_length=64, description="scanner model, e.g. 'LOGIQ E9'")


class ViewFrame(_Model):
    """Where a standard view was found: a sweep of the case and a 0-based frame index in it."""

    sweep: FileName
    frame: int = Field(ge=0)


class CaseLabels(_Model):
    """Reference labels of one case, each optional ("when known").

    * ``ivh_grade``: Papile grade 0-4;
    * ``findings``: image findings of each standard-view image (``[normal]`` or abnormal findings);
    * ``severe``: 1 for IVH grade III-IV, PVL or hydrocephalus, else 0 (:func:`neocus.vocab.is_severe`);
    * ``tier`` / ``binary``: the 3-tier and binary read-outs (:func:`neocus.vocab.three_tier`, ``binary``);
    * ``view_frames``: the frame of a sweep that shows each standard view.

    Derived labels must agree with the vocabulary's rules; see :func:`label_rule_problems`.
    """

    severe: Literal[0, 1] | None = None
    ivh_grade: IvhGrade | None = None
    findings: dict[View, list[Finding]] | None = None
    tier: Tier | None = None
    binary: Binary | None = None
    view_frames: dict[View, ViewFrame] = Field(default_factory=dict)

    @field_validator("findings")
    @classmethod
    def _canonical_findings(cls, v: dict[View, list[Finding]] | None) -> dict[View, list[Finding]] | None:
        if v is None:
            return None
        out: dict[View, list[Finding]] = {}
        for view in sorted(v, key=_view_order):
            found = sorted(set(v[view]), key=_FINDING_ORDER.__getitem__)
            if not found:
                raise ValueError(f"view {view.value}: empty finding list (use ['{Finding.NORMAL.value}'] for a normal image)")
            out[view] = found
        return out

    @field_validator("view_frames")
    @classmethod
    def _canonical_view_frames(cls, v: dict[View, ViewFrame]) -> dict[View, ViewFrame]:
        return {view: v[view] for view in sorted(v, key=_view_order)}

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> CaseLabels:
        if _rules_enabled(info):
            _raise_problems(label_rule_problems(self))
        return self

    @classmethod
    def derive(
        cls,
        ivh_grade: int | IvhGrade,
        findings: dict[View, list[Finding]] | None = None,
        view_frames: dict[View, ViewFrame] | None = None,
    ) -> CaseLabels:
        """Labels with ``severe``, ``tier`` and ``binary`` computed from the grade and findings by the vocab rules."""
        grade = IvhGrade(int(ivh_grade))
        union = case_findings(findings.values()) if findings else frozenset({Finding.NORMAL})
        return cls(
            ivh_grade=grade,
            findings=findings,
            severe=int(is_severe(grade, union)),
            tier=three_tier(grade, union),
            binary=binary(grade, union),
            view_frames=dict(view_frames or {}),
        )

    def case_findings(self) -> frozenset[Finding] | None:
        """Union of the view images' findings (``{normal}`` when none is abnormal), or None when unknown."""
        return None if self.findings is None else case_findings(self.findings.values())


class CaseRecord(_Model):
    """``case.json`` of one case: its sweeps, de-identified metadata and labels when known."""

    schema_version: SchemaVersion = Field(default=SCHEMA_VERSION)
    case_id: CaseId
    sweeps: dict[FileName, Plane] = Field(description="sweep file name (in the case folder) -> scan plane")
    metadata: CaseMetadata = Field(default_factory=CaseMetadata)
    labels: CaseLabels | None = None

    @field_validator("sweeps")
    @classmethod
    def _canonical_sweeps(cls, v: dict[str, Plane]) -> dict[str, Plane]:
        stems = [_stem(name) for name in v]
        dup = sorted({s for s in stems if stems.count(s) > 1})
        if dup:
            raise ValueError(f"sweep files share a stem ({', '.join(dup)}); annotations are keyed by stem")
        return {name: v[name] for name in sorted(v)}

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> CaseRecord:
        if _rules_enabled(info):
            _raise_problems(case_rule_problems(self))
        return self

    def sweep_stem(self, name: str) -> str:
        """Stem of a sweep file name (the annotation file is ``annotations/<stem>.jsonl``)."""
        return _stem(name)


def format_loc(loc: Iterable[Any]) -> str:
    """A pydantic error location as a JSON path: ``('labels', 'findings', 'AHV', 0)`` -> ``labels.findings.AHV[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]":
            out += " (key)"
        else:
            out += f".{part}" if out else str(part)
    return out


def _stem(name: str) -> str:
    """File name without its last suffix (``coronal.mp4`` -> ``coronal``; ``a.b.dcm`` -> ``a.b``)."""
    head, dot, _ = name.rpartition(".")
    return head if dot and head else name


# --------------------------------------------------------------------------------------------------
# Rules that tie labels together
# --------------------------------------------------------------------------------------------------


def label_rule_problems(labels: CaseLabels) -> list[tuple[str, str]]:
    """Every way ``labels`` break the vocabulary's rules, as ``(field path, message)`` pairs.

    Checked only where the labels involved are present:

    * each view image's findings: ``normal`` does not stand beside an abnormal finding;
    * ``ivh_grade`` 0 with an IVH finding in some image;
    * ``severe`` == ``is_severe(ivh_grade, union of findings)`` when both are known; with only the
      grade, grade III-IV implies severe; with only findings, PVL or hydrocephalus implies severe;
    * ``tier`` == ``three_tier(...)`` and ``binary`` == ``binary(...)`` when grade and findings are known;
    * ``tier``, ``binary`` and ``severe`` agree with each other.
    """
    problems: list[tuple[str, str]] = []
    findings_ok = True
    if labels.findings is not None:
        for view, found in labels.findings.items():
            try:
                check_findings(found)
            except ValueError as exc:
                problems.append((f"labels.findings.{view.value}", str(exc)))
                findings_ok = False
    union = labels.case_findings() if (labels.findings is not None and findings_ok) else None
    grade = labels.ivh_grade

    if grade is not None and union is not None and grade is IvhGrade.NONE and Finding.IVH in union:
        views = [v.value for v, f in (labels.findings or {}).items() if Finding.IVH in f]
        problems.append(("labels.ivh_grade", f"grade 0 (no haemorrhage) but IVH is found in {', '.join(views)}"))

    if labels.severe is not None:
        if grade is not None and union is not None:
            expected = int(is_severe(grade, union))
            if labels.severe != expected:
                problems.append(
                    ("labels.severe", f"severe={labels.severe} but IVH grade {int(grade)} with findings "
                     f"{_names(union)} gives severe={expected}")
                )
        elif grade is not None:
            if grade >= IvhGrade.III and labels.severe == 0:
                problems.append(("labels.severe", f"severe=0 but IVH grade {int(grade)} (III-IV) is severe"))
        elif union is not None:
            hard = union & {Finding.PVL, Finding.HYDROCEPHALUS}
            if hard and labels.severe == 0:
                problems.append(("labels.severe", f"severe=0 but findings include {_names(hard)}, which are severe"))

    if grade is not None and union is not None:
        if labels.tier is not None and labels.tier is not three_tier(grade, union):
            problems.append(
                ("labels.tier", f"tier={labels.tier.value} but IVH grade {int(grade)} with findings {_names(union)} "
                 f"gives {three_tier(grade, union).value}")
            )
        if labels.binary is not None and labels.binary is not binary(grade, union):
            problems.append(
                ("labels.binary", f"binary={labels.binary.value} but IVH grade {int(grade)} with findings "
                 f"{_names(union)} gives {binary(grade, union).value}")
            )

    if labels.tier is not None and labels.severe is not None and (labels.tier is Tier.SEVERE) != bool(labels.severe):
        problems.append(("labels.tier", f"tier={labels.tier.value} disagrees with severe={labels.severe}"))
    if labels.tier is not None and labels.binary is not None and (labels.tier is Tier.NORMAL) != (labels.binary is Binary.NORMAL):
        problems.append(("labels.binary", f"binary={labels.binary.value} disagrees with tier={labels.tier.value}"))
    if labels.binary is Binary.NORMAL and labels.severe == 1:
        problems.append(("labels.binary", "binary=normal disagrees with severe=1"))
    return problems


def case_rule_problems(case: CaseRecord) -> list[tuple[str, str]]:
    """Label rules plus the case-level ties: each view frame names a listed sweep of the view's plane."""
    problems: list[tuple[str, str]] = []
    if case.labels is None:
        return problems
    problems.extend(label_rule_problems(case.labels))
    for view, where in case.labels.view_frames.items():
        path = f"labels.view_frames.{view.value}.sweep"
        plane = case.sweeps.get(where.sweep)
        if plane is None:
            problems.append((path, f"sweep '{where.sweep}' is not listed in sweeps"))
        elif plane is not VIEW_PLANE[view]:
            problems.append((path, f"view {view.value} is {VIEW_PLANE[view].value} but sweep '{where.sweep}' is {plane.value}"))
    return problems


def split_rule_problems(splits: Splits, *, prefix: str = "splits") -> list[tuple[str, str]]:
    """Every way ``splits`` contradict themselves, as ``(field path, message)`` pairs.

    No case listed twice in a list; none in both train and test; none in two folds; no test case in a
    fold; when ``train`` is given, every fold case is a training case; fold indices are 0..k-1.
    """
    problems: list[tuple[str, str]] = []

    def no_repeats(field: str, ids: list[str]) -> None:
        seen: set[str] = set()
        for i, case_id in enumerate(ids):
            if case_id in seen:
                problems.append((f"{field}[{i}]", f"case '{case_id}' listed twice"))
            seen.add(case_id)

    no_repeats(f"{prefix}.train", splits.train)
    no_repeats(f"{prefix}.test", splits.test)
    train, test = set(splits.train), set(splits.test)
    for i, case_id in enumerate(splits.test):
        if case_id in train:
            problems.append((f"{prefix}.test[{i}]", f"case '{case_id}' is in both train and test"))
    fold_of: dict[str, int] = {}
    for k, ids in splits.folds.items():
        no_repeats(f"{prefix}.folds.{k}", ids)
        for i, case_id in enumerate(ids):
            field = f"{prefix}.folds.{k}[{i}]"
            if fold_of.get(case_id, k) != k:
                problems.append((field, f"case '{case_id}' is also in fold {fold_of[case_id]}"))
            fold_of.setdefault(case_id, k)
            if case_id in test:
                problems.append((field, f"test case '{case_id}' is in a cross-validation fold"))
            elif train and case_id not in train:
                problems.append((field, f"case '{case_id}' is in a fold but not in train"))
    if splits.folds and sorted(splits.folds) != list(range(len(splits.folds))):
        problems.append((f"{prefix}.folds", f"fold indices {sorted(splits.folds)} are not 0..{len(splits.folds) - 1}"))
    return problems


def _names(findings: frozenset[Finding] | set[Finding]) -> str:
    return "[" + ", ".join(f.value for f in sorted(findings, key=_FINDING_ORDER.__getitem__)) + "]"


# The per-frame annotation models live in neocus.data.annotations (split out of this module); they stay
# importable from here. Imported last because they build on _Model above.
from neocus.data.annotations import (  # noqa: E402
    BoxAnnotation,
    FrameAnnotation,
    LabelledRotatedBox,
    LabelT,
    LesionBoxAnnotation,
)
