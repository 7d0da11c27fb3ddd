"""De-identification: what of a DICOM header may leave neocus, and how to clean a dataset before writing.

Two mechanisms (docs/deidentification.md explains the choices):

* :func:`kept_tags` -- the ONLY way header values reach a :class:`~neocus.io.types.SweepMeta`: an
  allow-list of non-identifying fields (:data:`KEPT_KEYWORDS`) plus the patient's age in days, computed
  from birth date and exam date and kept as a number (the dates themselves are dropped).
* :func:`deidentify_dataset` -- a copy of a pydicom ``Dataset`` cleaned for writing, modelled on the
  DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile with the Retain Patient
  Characteristics Option: identifying attributes removed (:data:`REMOVE_KEYWORDS`) or emptied
  (:data:`EMPTY_KEYWORDS`), every person name, date and time emptied, instance UIDs replaced
  consistently, private, unknown-VR, overlay and curve elements removed, ``PatientIdentityRemoved=YES``
  and ``DeidentificationMethod`` recorded. Pixel data is not touched: burned-in text is removed by
  cropping to the ultrasound ROI (neocus.io.roi), not here.
"""

from __future__ import annotations

import copy
import datetime as _dt
import re
from collections.abc import MutableMapping

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

import neocus

#: Header fields copied (as plain str / int / float) into ``SweepMeta.kept_tags``. None identifies a person.
KEPT_KEYWORDS: tuple[str, ...] = (
    "Modality",
    "SOPClassUID",  # the kind of object (e.g. Ultrasound Multi-frame Image Storage), not an instance
    "Manufacturer",
    "ManufacturerModelName",
    "TransducerData",
    "TransducerType",
    "BodyPartExamined",
    "PatientSex",  # PS3.15 Retain Patient Characteristics Option
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "BitsStored",
    "SamplesPerPixel",
)

#: Attributes removed outright by :func:`deidentify_dataset` (PS3.15 Table E.1-1 action X, and D/U
#: attributes that neocus has no use for). Person names, dates and times are handled by VR, below.
REMOVE_KEYWORDS: frozenset[str] = frozenset(
    {
        "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientBirthName",
        "PatientMotherBirthName", "PatientAddress", "PatientTelephoneNumbers", "PatientTelecomInformation",
        "MilitaryRank", "BranchOfService", "EthnicGroup", "Occupation", "AdditionalPatientHistory",
        "PatientComments", "PatientReligiousPreference", "MedicalRecordLocator", "IssuerOfPatientID",
        "IssuerOfPatientIDQualifiersSequence", "PatientInsurancePlanCodeSequence", "CountryOfResidence",
        "RegionOfResidence", "PatientState", "ResponsiblePerson", "ResponsibleOrganization",
        "PatientBirthTime", "PatientBirthDateInAlternativeCalendar", "PatientDeathDateInAlternativeCalendar",
        "MedicalAlerts", "Allergies", "SmokingStatus", "PregnancyStatus", "LastMenstrualDate",
        "SpecialNeeds", "PatientPrimaryLanguageCodeSequence", "ReferencedPatientSequence",
        "ReferencedPatientPhotoSequence", "InstitutionName", "InstitutionAddress", "InstitutionCodeSequence",
        "InstitutionalDepartmentName", "InstitutionalDepartmentTypeCodeSequence", "StationName",
        "DeviceSerialNumber", "DeviceUID", "PlateID", "CassetteID", "GantryID", "DetectorID",
        "PerformingPhysicianName", "PerformingPhysicianIdentificationSequence", "OperatorsName",
        "OperatorIdentificationSequence", "NameOfPhysiciansReadingStudy",
        "PhysiciansReadingStudyIdentificationSequence", "PhysiciansOfRecord",
        "PhysiciansOfRecordIdentificationSequence", "RequestingPhysician", "RequestingService",
        "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers",
        "ReferringPhysicianIdentificationSequence", "ConsultingPhysicianName", "StudyDescription",
        "SeriesDescription", "ImageComments", "RequestAttributesSequence", "ProtocolName",
        "DerivationDescription", "PerformedProcedureStepID", "PerformedProcedureStepDescription",
        "PerformedLocation", "PerformedStationName", "ScheduledProcedureStepID",
        "ScheduledProcedureStepDescription", "RequestedProcedureID", "RequestedProcedureDescription",
        "AdmissionID", "AdmittingDiagnosesDescription", "AdmittingDiagnosesCodeSequence",
        "CurrentPatientLocation", "PatientInstitutionResidence", "VisitComments", "ServiceEpisodeID",
        "ServiceEpisodeDescription", "IssuerOfAdmissionIDSequence", "ReasonForStudy",
        "RequestedContrastAgent", "ReasonForTheRequestedProcedure", "FillerOrderNumberImagingServiceRequest",
        "PlacerOrderNumberImagingServiceRequest", "OrderEnteredBy", "OrderEntererLocation",
        "OrderCallbackPhoneNumber", "ReferencedStudySequence", "ReferencedPerformedProcedureStepSequence",
        "ReferencedImageSequence", "SourceImageSequence", "StorageMediaFileSetID", "StorageMediaFileSetUID",
        "TextComments", "TextString", "AcquisitionComments", "AcquisitionDeviceProcessingDescription",
        "DigitalSignaturesSequence", "OriginalAttributesSequence", "ModifiedAttributesSequence",
        "ContributingEquipmentSequence", "ContentSequence", "VerifyingObserverSequence",
        "AuthorObserverSequence", "ParticipantSequence", "CustodialOrganizationSequence",
        "InstanceCreatorUID", "TimezoneOffsetFromUTC", "FrameComments", "IconImageSequence",
        "GraphicAnnotationSequence", "PersonAddress", "PersonTelephoneNumbers", "PersonTelecomInformation",
        "PersonIdentificationCodeSequence", "PatientAge",  # PatientAge is re-written from dates
    }
)

#: Attributes kept but emptied (type 2: present, no value) -- PS3.15 action Z.
EMPTY_KEYWORDS: frozenset[str] = frozenset(
    {"PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "StudyID", "ReferringPhysicianName"}
)

#: UI attributes that name a *kind* of thing (classes, syntaxes, coding schemes) and are kept as they are.
_CLASS_UID_SUFFIXES = ("ClassUID", "SyntaxUID", "CodingSchemeUID", "ContextGroupExtensionCreatorUID")
_TEMPORAL_VRS = frozenset({"DA", "DT", "TM"})
_METHOD = "neocus {version} PS3.15 Basic Profile subset"  # LO: at most 64 characters
_AGE_RE = re.compile(r"^\s*(\d{1,3})\s*([DWMY])\s*$", re.IGNORECASE)
_DAYS_PER_UNIT = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0, "Y": 365.25}


def _parse_da(value: object) -> _dt.date | None:
    text = str(value or "").strip()
    if len(text) < 8 or not text[:8].isdigit():
        return None
    try:
        return _dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def patient_age_days(ds: Dataset) -> int | None:
    """Age at the exam in whole days: exam date minus ``PatientBirthDate`` when both are present, else
    ``PatientAge`` (``nnnD/W/M/Y``, months and years converted at 365.25 days a year), else ``None``."""
    birth = _parse_da(ds.get("PatientBirthDate"))
    if birth is not None:
        for keyword in ("AcquisitionDate", "ContentDate", "SeriesDate", "StudyDate"):
            exam = _parse_da(ds.get(keyword))
            if exam is not None and exam >= birth:
                return (exam - birth).days
    match = _AGE_RE.match(str(ds.get("PatientAge") or ""))
    if match:
        return round(int(match.group(1)) * _DAYS_PER_UNIT[match.group(2).upper()])
    return None


def _plain(value: object) -> str | int | float | None:
    if value is None or value == "":
        return None
    if isinstance(value, pydicom.multival.MultiValue | list | tuple):
        parts = [str(v) for v in value if v is not None and str(v) != ""]
        return "\\".join(parts) or None
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)  # also pydicom IS
    if isinstance(value, float | pydicom.valuerep.DSdecimal):
        return float(value)  # also pydicom DSfloat
    return str(value).strip() or None


def kept_tags(ds: Dataset) -> dict[str, str | int | float]:
    """The allow-listed, non-identifying header fields of ``ds`` (see :data:`KEPT_KEYWORDS`), plus
    ``PatientAgeDays`` when it can be computed. Nothing else of the header is returned."""
    out: dict[str, str | int | float] = {}
    for keyword in KEPT_KEYWORDS:
        value = _plain(ds.get(keyword))
        if value is not None:
            out[keyword] = value
    age = patient_age_days(ds)
    if age is not None:
        out["PatientAgeDays"] = age
    return out


def _age_string(days: int) -> str:
    """DICOM AS for an age in days (``nnnD`` up to 999 days, then weeks / months / years)."""
    if days <= 999:
        return f"{days:03d}D"
    if days // 7 <= 999:
        return f"{days // 7:03d}W"
    return f"{min(int(days / 365.25), 999):03d}Y"


def _is_instance_uid(keyword: str) -> bool:
    return not keyword.endswith(_CLASS_UID_SUFFIXES)


def _clean(ds: Dataset, uid_map: MutableMapping[str, str]) -> None:
    """Apply the profile in place, recursing into sequences."""
    ds.remove_private_tags()
    for elem in list(ds):
        tag, keyword, vr = elem.tag, elem.keyword, elem.VR
        group = tag.group
        if 0x5000 <= group <= 0x50FF or 0x6000 <= group <= 0x60FF or vr == "UN" or (not keyword and tag.element != 0):
            del ds[tag]  # curves, overlays, unknown VR, elements pydicom cannot name
            continue
        if keyword in REMOVE_KEYWORDS:
            del ds[tag]
            continue
        if keyword in EMPTY_KEYWORDS or vr == "PN" or vr in _TEMPORAL_VRS:
            elem.value = None
            continue
        if vr == "UI" and keyword and _is_instance_uid(keyword) and elem.value:
            values = elem.value if isinstance(elem.value, pydicom.multival.MultiValue | list) else [elem.value]
            new = [uid_map.setdefault(str(v), generate_uid()) for v in values]
            elem.value = new if len(new) > 1 else new[0]
            continue
        if vr == "SQ":
            for item in elem.value:
                _clean(item, uid_map)


def deidentify_dataset(
    ds: Dataset,
    *,
    uid_map: MutableMapping[str, str] | None = None,
    patient_id: str = "",
    keep_patient_characteristics: bool = True,
) -> Dataset:
    """A de-identified deep copy of ``ds`` (``ds`` itself is not changed).

    ``uid_map`` (old UID -> new UID) keeps replacements consistent across the files of one study; pass
    the same dict for each file. ``patient_id`` is an optional pseudonym written to ``PatientID`` (the
    caller must not derive it from the real identifier). With ``keep_patient_characteristics``,
    ``PatientSex``, ``PatientSize``, ``PatientWeight`` are kept and ``PatientAge`` is re-written from the
    birth and exam dates before those are emptied.
    """
    uid_map = {} if uid_map is None else uid_map
    out = copy.deepcopy(ds)  # Dataset.copy() is shallow: elements would be shared
    age = patient_age_days(ds) if keep_patient_characteristics else None
    _clean(out, uid_map)
    if not keep_patient_characteristics:
        for keyword in ("PatientSex", "PatientSize", "PatientWeight"):
            if keyword in out:
                del out[keyword]
    if age is not None:
        out.PatientAge = _age_string(age)
    out.PatientID = patient_id
    out.PatientIdentityRemoved = "YES"
    out.LongitudinalTemporalInformationModified = "REMOVED"
    out.DeidentificationMethod = _METHOD.format(version=neocus.__version__)[:64]
    codes = [("113100", "Basic Application Confidentiality Profile")]
    if keep_patient_characteristics:
        codes.append(("113108", "Retain Patient Characteristics Option"))
    method_codes = []
    for value, meaning in codes:
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        method_codes.append(item)
    out.DeidentificationMethodCodeSequence = Sequence(method_codes)
    meta = getattr(out, "file_meta", None)
    if meta is not None:
        if "SOPInstanceUID" in out:
            meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
        for keyword in ("SourceApplicationEntityTitle", "SendingApplicationEntityTitle", "ReceivingApplicationEntityTitle", "PrivateInformationCreatorUID", "PrivateInformation"):
            if keyword in meta:
                del meta[keyword]
    return out
