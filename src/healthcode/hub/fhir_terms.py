"""The code systems and value sets of the hub's FHIR interface (also published as the signed
``value-set`` document), and the FHIR field each hub record field comes from.

See ``hub/fhir.py`` for what each system is used for.
"""

from __future__ import annotations

from typing import Any

from healthcode.core import facts, identity

__all__ = [
    "ANTIBODY_LOINC",
    "CVX",
    "CVX_PRODUCTS",
    "FHIR_FIELDS",
    "ID_TYPE_SYSTEM_PREFIX",
    "INTERPRETATION",
    "LOINC",
    "NAT_LOINC",
    "OBSERVATION_STATUSES",
    "PRODUCT_SYSTEM",
    "RESIDENT_ID_SYSTEM",
    "RESULT_INTERPRETATION",
    "RESULT_SNOMED",
    "SNOMED",
    "value_sets",
]

RESIDENT_ID_SYSTEM = "urn:oid:2.16.156.10011.1.3"
ID_TYPE_SYSTEM_PREFIX = "urn:healthcode:id-type:"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CVX = "http://hl7.org/fhir/sid/cvx"
PRODUCT_SYSTEM = "urn:healthcode:vaccine-product"

#: SARS-CoV-2 RNA presence by NAA (LOINC) -> the sample type it implies (None: not implied).
NAT_LOINC: dict[str, str | None] = {
    "94309-2": None,  # SARS-CoV-2 RNA [Presence] in Specimen by NAA with probe detection
    "94500-6": None,  # ... in Respiratory specimen by NAA with probe detection
    "94533-7": None,  # SARS-CoV-2 N gene [Presence] in Respiratory specimen by NAA w/ probe
    "94534-5": None,  # SARS-CoV-2 RdRp gene [Presence] in Respiratory specimen by NAA w/ probe
    "94756-4": None,  # SARS-CoV-2 N gene [Presence] in Respiratory specimen, CDC primer set N1
    "94757-2": None,  # ... CDC primer-probe set N2
    "94759-8": "nasopharyngeal",  # SARS-CoV-2 RNA [Presence] in Nasopharynx by NAA w/ probe
    "94565-9": "nasopharyngeal",  # ... in Nasopharynx by NAA with non-probe detection
    "94845-5": "saliva",  # SARS-CoV-2 RNA [Presence] in Saliva (oral fluid) by NAA w/ probe
    "95406-5": "nasal",  # SARS-CoV-2 RNA [Presence] in Nose by NAA with probe detection
}
#: SARS-CoV-2 antibody presence (LOINC) -> core.facts antibody kind.
ANTIBODY_LOINC: dict[str, str] = {
    "94563-4": "IgG",  # SARS-CoV-2 IgG Ab [Presence] in Serum or Plasma by Immunoassay
    "94507-1": "IgG",  # SARS-CoV-2 IgG Ab [Presence] in Serum, Plasma or Blood by Rapid IA
    "94564-2": "IgM",  # SARS-CoV-2 IgM Ab [Presence] in Serum or Plasma by Immunoassay
    "94508-9": "IgM",  # SARS-CoV-2 IgM Ab [Presence] in Serum, Plasma or Blood by Rapid IA
    "94762-2": "total",  # SARS-CoV-2 Ab [Presence] in Serum or Plasma by Immunoassay
}
RESULT_SNOMED = {"260373001": "positive", "260415000": "negative"}
RESULT_INTERPRETATION = {"POS": "positive", "DET": "positive", "NEG": "negative", "ND": "negative"}
#: CVX codes of the Chinese COVID-19 vaccines -> core.facts product code.
CVX_PRODUCTS: dict[str, str] = {
    "510": "BIBP",  # COVID-19 IV Non-US Vaccine (BIBP, Sinopharm)
    "511": "CoronaVac",  # COVID-19 IV Non-US Vaccine (CoronaVac, Sinovac)
    "506": "Ad5-nCoV",  # COVID-19 VVnr Non-US Vaccine (CanSino / Beijing Inst. of Biotechnology)
    "507": "ZF2001",  # COVID-19 PS Non-US Vaccine (Anhui Zhifei Longcom + IMCAS)
    "513": "ZF2001",  # SARS-COV-2 COVID-19 PS Non-US Vaccine (Anhui Zhifei Longcom, Zifivax)
    "516": "KCONVAC",  # COV-2 COVID-19 Inactivated Non-US Vaccine (Minhai, KCONVAC)
}
OBSERVATION_STATUSES = ("final", "amended", "corrected")
#: Hub record field -> the FHIR field it comes from (to name FHIR fields in core's errors).
FHIR_FIELDS: dict[str, dict[str, str]] = {
    "observation": {
        "record_id": "Observation.identifier",
        "sampled_at": "Observation.effectiveDateTime",
        "resulted_at": "Observation.issued",
        "result": "Observation.valueCodeableConcept",
        "lab": "Observation.performer",
        "kind": "Observation.code",
        "sample_type": "Observation.code",
    },
    "vaccination": {
        "record_id": "Immunization.identifier",
        "product": "Immunization.vaccineCode",
        "dose": "Immunization.protocolApplied.doseNumberPositiveInt",
        "administered_at": "Immunization.occurrenceDateTime",
        "site": "Immunization.location",
    },
    "patient": {
        "id_number": "Patient.identifier",
        "id_type": "Patient.identifier",
        "name": "Patient.name",
        "phone": "Patient.telecom",
    },
}


def value_sets() -> dict[str, Any]:
    """The code systems and value sets the hub checks, as one JSON-ready document."""
    return {
        "patient_identifier": {"resident_id": RESIDENT_ID_SYSTEM, "other": ID_TYPE_SYSTEM_PREFIX},
        "id_types": [t.value for t in identity.IdType],
        "nat_loinc": NAT_LOINC,
        "antibody_loinc": ANTIBODY_LOINC,
        "result_snomed": RESULT_SNOMED,
        "result_interpretation": RESULT_INTERPRETATION,
        "vaccine_cvx": CVX_PRODUCTS,
        "vaccine_products": {k: list(v) for k, v in facts.VACCINE_PRODUCTS.items()},
        "test_results": list(facts.TEST_RESULTS),
        "nat_sample_types": list(facts.NAT_SAMPLE_TYPES),
        "antibody_kinds": list(facts.ANTIBODY_KINDS),
        "infection_statuses": list(facts.INFECTION_STATUSES),
        "contact_kinds": list(facts.CONTACT_KINDS),
        "itinerary_sources": list(facts.ITINERARY_SOURCES),
        "risk_levels": list(facts.RISK_LEVELS),
    }
