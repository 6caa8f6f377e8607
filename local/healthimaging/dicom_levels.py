"""Which metadata-document level a DICOM attribute lives at (HealthImaging "metadata normalization").

Patient, Study and Series levels hold only the modules listed in the developer guide; every other
attribute, including every private tag, is instance level.
"""

from __future__ import annotations

import re
from enum import Enum

from pydicom.datadict import dictionary_VR, tag_for_keyword


class Level(Enum):
    PATIENT = "Patient"
    STUDY = "Study"
    SERIES = "Series"
    INSTANCE = "Instance"


PATIENT_KEYWORDS = frozenset(
    {
        # Patient Module
        "PatientName", "PatientID", "IssuerOfPatientID", "IssuerOfPatientIDQualifiersSequence",
        "TypeOfPatientID", "PatientBirthDate", "PatientBirthDateInAlternativeCalendar",
        "PatientDeathDateInAlternativeCalendar", "PatientAlternativeCalendar", "PatientSex",
        "ReferencedPatientPhotoSequence", "QualityControlSubject", "ReferencedPatientSequence",
        "PatientBirthTime", "OtherPatientIDsSequence", "OtherPatientNames", "EthnicGroup",
        "PatientComments", "PatientSpeciesDescription", "PatientSpeciesCodeSequence",
        "PatientBreedDescription", "PatientBreedCodeSequence", "BreedRegistrationSequence",
        "StrainDescription", "StrainNomenclature", "StrainCodeSequence", "StrainAdditionalInformation",
        "StrainStockSequence", "GeneticModificationsSequence", "ResponsiblePerson", "ResponsiblePersonRole",
        "ResponsibleOrganization", "PatientIdentityRemoved", "DeidentificationMethod",
        "DeidentificationMethodCodeSequence",
        # Patient Group Macro (0010,0026)/(0010,0027)
        "SourcePatientGroupIdentificationSequence", "GroupOfPatientsIdentificationSequence",
        # Clinical Trial Subject Module
        "ClinicalTrialSponsorName", "ClinicalTrialProtocolID", "ClinicalTrialProtocolName",
        "IssuerOfClinicalTrialProtocolID", "OtherClinicalTrialProtocolIDsSequence",
        "ClinicalTrialSiteID", "ClinicalTrialSiteName", "IssuerOfClinicalTrialSiteID",
        "ClinicalTrialSubjectID", "IssuerOfClinicalTrialSubjectID", "ClinicalTrialSubjectReadingID",
        "IssuerOfClinicalTrialSubjectReadingID", "ClinicalTrialProtocolEthicsCommitteeName",
        "ClinicalTrialProtocolEthicsCommitteeApprovalNumber",
    }
)  # fmt: skip

STUDY_KEYWORDS = frozenset(
    {
        # General Study Module
        "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName",
        "ReferringPhysicianIdentificationSequence", "ConsultingPhysicianName",
        "ConsultingPhysicianIdentificationSequence", "StudyID", "AccessionNumber",
        "IssuerOfAccessionNumberSequence", "StudyDescription", "PhysiciansOfRecord",
        "PhysiciansOfRecordIdentificationSequence", "NameOfPhysiciansReadingStudy",
        "PhysiciansReadingStudyIdentificationSequence", "RequestingService", "RequestingServiceCodeSequence",
        "ReferencedStudySequence", "ProcedureCodeSequence", "ReasonForPerformedProcedureCodeSequence",
        # Patient Study Module
        "AdmittingDiagnosesDescription", "AdmittingDiagnosesCodeSequence", "PatientAge", "PatientSize",
        "PatientWeight", "PatientBodyMassIndex", "MeasuredAPDimension", "MeasuredLateralDimension",
        "PatientSizeCodeSequence", "MedicalAlerts", "Allergies", "SmokingStatus", "PregnancyStatus",
        "LastMenstrualDate", "PatientState", "Occupation", "AdditionalPatientHistory", "AdmissionID",
        "IssuerOfAdmissionIDSequence", "ReasonForVisit", "ReasonForVisitCodeSequence", "ServiceEpisodeID",
        "ServiceEpisodeDescription", "IssuerOfServiceEpisodeIDSequence", "PatientSexNeutered",
        # Clinical Trial Study Module
        "ClinicalTrialTimePointID", "ClinicalTrialTimePointDescription",
        "LongitudinalTemporalOffsetFromEvent", "LongitudinalTemporalEventType",
        "ClinicalTrialTimePointTypeCodeSequence", "IssuerOfClinicalTrialTimePointID",
        "ConsentForClinicalTrialUseSequence",
    }
)  # fmt: skip

SERIES_KEYWORDS = frozenset(
    {
        # General Series Module
        "Modality", "SeriesInstanceUID", "SeriesNumber", "Laterality", "SeriesDate", "SeriesTime",
        "PerformingPhysicianName", "PerformingPhysicianIdentificationSequence", "ProtocolName",
        "SeriesDescription", "SeriesDescriptionCodeSequence", "OperatorsName",
        "OperatorIdentificationSequence", "ReferencedPerformedProcedureStepSequence",
        "RelatedSeriesSequence", "BodyPartExamined", "PatientPosition", "SmallestPixelValueInSeries",
        "LargestPixelValueInSeries", "RequestAttributesSequence", "AnatomicalOrientationType",
        "TreatmentSessionUID",
        # Clinical Trial Series Module
        "ClinicalTrialCoordinatingCenterName", "ClinicalTrialSeriesID", "ClinicalTrialSeriesDescription",
        "IssuerOfClinicalTrialSeriesID",
        # General Equipment Module
        "Manufacturer", "InstitutionName", "InstitutionAddress", "StationName",
        "InstitutionalDepartmentName", "InstitutionalDepartmentTypeCodeSequence", "ManufacturerModelName",
        "ManufacturerDeviceClassUID", "DeviceSerialNumber", "SoftwareVersions", "GantryID", "UDISequence",
        "DeviceUID", "SpatialResolution", "DateOfLastCalibration", "TimeOfLastCalibration",
        "PixelPaddingValue",
        # Frame of Reference Module
        "FrameOfReferenceUID", "PositionReferenceIndicator",
    }
)  # fmt: skip

_PRIVATE_OR_RAW_TAG = re.compile(r"[0-9A-Fa-f]{8}")


def is_tag_key(key: str) -> bool:
    """Private (and unnamed) attributes are keyed by 8 hex digits, e.g. `00091001`."""
    return _PRIVATE_OR_RAW_TAG.fullmatch(key) is not None


def is_private_tag_key(key: str) -> bool:
    return is_tag_key(key) and int(key[:4], 16) % 2 == 1


def is_standard_keyword(key: str) -> bool:
    return tag_for_keyword(key) is not None


def level_of(key: str) -> Level:
    if key in PATIENT_KEYWORDS:
        return Level.PATIENT
    if key in STUDY_KEYWORDS:
        return Level.STUDY
    if key in SERIES_KEYWORDS:
        return Level.SERIES
    return Level.INSTANCE


def standard_vr(key: str) -> str | None:
    """VR of a standard keyword, or None for private/unknown keys."""
    tag = tag_for_keyword(key)
    if tag is None:
        return None
    vr: str = dictionary_VR(tag)
    return vr
