"""Which level of the HealthImaging metadata document holds a DICOM attribute.

HealthImaging normalizes each attribute into exactly one level (developer guide, "Metadata
normalization", generated from DICOM PS3.6 2022b): Patient, Study and Series hold only the modules
listed below, everything else lives on the instances. An update that gives an attribute at the wrong
level is rejected by the service, so rules and corrections are checked against this table at load.
"""

from __future__ import annotations

import enum

from pydicom.datadict import tag_for_keyword


class AttributeLevel(enum.StrEnum):
    PATIENT = "Patient"
    STUDY = "Study"
    SERIES = "Series"
    INSTANCE = "Instance"


_PATIENT = frozenset(
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
        "StrainStockSequence", "GeneticModificationsSequence", "ResponsiblePerson",
        "ResponsiblePersonRole", "ResponsibleOrganization", "PatientIdentityRemoved",
        "DeidentificationMethod", "DeidentificationMethodCodeSequence",
        # Patient Group Macro
        "SourcePatientGroupIdentificationSequence", "GroupOfPatientsIdentificationSequence",
        # Clinical Trial Subject Module
        "ClinicalTrialSponsorName", "ClinicalTrialProtocolID", "ClinicalTrialProtocolName",
        "ClinicalTrialSiteID", "ClinicalTrialSiteName", "ClinicalTrialSubjectID",
        "ClinicalTrialSubjectReadingID", "ClinicalTrialProtocolEthicsCommitteeName",
        "ClinicalTrialProtocolEthicsCommitteeApprovalNumber",
    }
)  # fmt: skip

_STUDY = frozenset(
    {
        # General Study Module
        "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName",
        "ReferringPhysicianIdentificationSequence", "ConsultingPhysicianName",
        "ConsultingPhysicianIdentificationSequence", "StudyID", "AccessionNumber",
        "IssuerOfAccessionNumberSequence", "StudyDescription", "PhysiciansOfRecord",
        "PhysiciansOfRecordIdentificationSequence", "NameOfPhysiciansReadingStudy",
        "PhysiciansReadingStudyIdentificationSequence", "RequestingService",
        "RequestingServiceCodeSequence", "ReferencedStudySequence", "ProcedureCodeSequence",
        "ReasonForPerformedProcedureCodeSequence",
        # Patient Study Module
        "AdmittingDiagnosesDescription", "AdmittingDiagnosesCodeSequence", "PatientAge", "PatientSize",
        "PatientWeight", "PatientBodyMassIndex", "MeasuredAPDimension", "MeasuredLateralDimension",
        "PatientSizeCodeSequence", "MedicalAlerts", "Allergies", "SmokingStatus", "PregnancyStatus",
        "LastMenstrualDate", "PatientState", "Occupation", "AdditionalPatientHistory", "AdmissionID",
        "IssuerOfAdmissionIDSequence", "ReasonForVisit", "ReasonForVisitCodeSequence",
        "ServiceEpisodeID", "ServiceEpisodeDescription", "IssuerOfServiceEpisodeIDSequence",
        "PatientSexNeutered",
        # Clinical Trial Study Module
        "ClinicalTrialTimePointID", "ClinicalTrialTimePointDescription",
        "LongitudinalTemporalOffsetFromEvent", "LongitudinalTemporalEventType",
        "ConsentForClinicalTrialUseSequence",
    }
)  # fmt: skip

_SERIES = frozenset(
    {
        # General Series Module
        "Modality", "SeriesInstanceUID", "SeriesNumber", "Laterality", "SeriesDate", "SeriesTime",
        "PerformingPhysicianName", "PerformingPhysicianIdentificationSequence", "ProtocolName",
        "SeriesDescription", "SeriesDescriptionCodeSequence", "OperatorsName",
        "OperatorIdentificationSequence", "ReferencedPerformedProcedureStepSequence",
        "RelatedSeriesSequence", "BodyPartExamined", "PatientPosition",
        "SmallestPixelValueInSeries", "LargestPixelValueInSeries", "RequestAttributesSequence",
        "AnatomicalOrientationType", "TreatmentSessionUID",
        # Clinical Trial Series Module
        "ClinicalTrialCoordinatingCenterName", "ClinicalTrialSeriesID", "ClinicalTrialSeriesDescription",
        # General Equipment Module
        "Manufacturer", "InstitutionName", "InstitutionAddress", "StationName",
        "InstitutionalDepartmentName", "InstitutionalDepartmentTypeCodeSequence",
        "ManufacturerModelName", "ManufacturerDeviceClassUID", "DeviceSerialNumber", "SoftwareVersions",
        "GantryID", "UDISequence", "DeviceUID", "SpatialResolution", "DateOfLastCalibration",
        "TimeOfLastCalibration", "PixelPaddingValue",
        # Frame of Reference Module
        "FrameOfReferenceUID", "PositionReferenceIndicator",
    }
)  # fmt: skip

KEYWORDS_BY_LEVEL: dict[AttributeLevel, frozenset[str]] = {
    AttributeLevel.PATIENT: _PATIENT,
    AttributeLevel.STUDY: _STUDY,
    AttributeLevel.SERIES: _SERIES,
}

# Generated by HealthImaging: never updatable (developer guide, "DICOM metadata constraints").
GENERATED_KEYWORDS = frozenset(
    {"SchemaVersion", "DatastoreID", "ImageSetID", "PixelData", "Checksum", "Width", "Height",
     "MinPixelValue", "MaxPixelValue", "FrameSizeInBytes"}
)  # fmt: skip

# Updatable only with `force`; automatic import reactions never force, so they may not touch these.
FORCE_ONLY_KEYWORDS = frozenset(
    {"PixelData", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "StudyID"}
)


def level_of(keyword: str) -> AttributeLevel:
    """The level HealthImaging stores a standard keyword at (INSTANCE for anything not normalized up)."""
    for level, keywords in KEYWORDS_BY_LEVEL.items():
        if keyword in keywords:
            return level
    return AttributeLevel.INSTANCE


def keyword_problem(keyword: str) -> str | None:
    """Why an import reaction may not write `keyword`, or None when it may."""
    if keyword in GENERATED_KEYWORDS:
        return f"{keyword} is generated by HealthImaging and cannot be updated"
    if keyword in FORCE_ONLY_KEYWORDS:
        return f"{keyword} can only be changed with force, which import reactions never use"
    if tag_for_keyword(keyword) is None:
        return f"{keyword!r} is not a standard DICOM keyword"
    return None
