"""Which level of the metadata document each standard attribute belongs to.

HealthImaging normalises DICOM into Patient, Study and Series levels holding only the modules listed in the
developer guide's "Metadata normalization" page (PS3.6 2022b keys); every other attribute lives on the
Instance level. An attribute given at another level is rejected by the service, so we reject it first.
Lists follow docs/healthimaging-reference.md section 2.3; a unit test checks each name against pydicom.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    PATIENT = "Patient"
    STUDY = "Study"
    SERIES = "Series"
    INSTANCE = "Instance"


PATIENT_KEYWORDS = frozenset(
    {
        # Patient Module (incl. Issuer of Patient ID macro and non-human subject attributes)
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
        "IssuerOfClinicalTrialProtocolID", "OtherClinicalTrialProtocolIDsSequence", "ClinicalTrialSiteID",
        "ClinicalTrialSiteName", "IssuerOfClinicalTrialSiteID", "ClinicalTrialSubjectID",
        "IssuerOfClinicalTrialSubjectID", "ClinicalTrialSubjectReadingID",
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
        "PhysiciansReadingStudyIdentificationSequence", "RequestingService",
        "RequestingServiceCodeSequence", "ReferencedStudySequence", "ProcedureCodeSequence",
        "ReasonForPerformedProcedureCodeSequence",
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


def level_of(keyword: str) -> Level:
    """The level a standard keyword lives on; anything not normalised upwards is Instance level."""
    if keyword in PATIENT_KEYWORDS:
        return Level.PATIENT
    if keyword in STUDY_KEYWORDS:
        return Level.STUDY
    if keyword in SERIES_KEYWORDS:
        return Level.SERIES
    return Level.INSTANCE
