"""The value sets and limits of the facts: what a record may say, and how far it may go.

Every name here is public; :mod:`healthcode.core.facts` re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

#: How far in the future an observed time may lie: clocks of labs, phones and scanners drift.
#: Five minutes, as the checkpoint's claim check allows; anything later is a data error.
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: The longest a manual assignment may last (the longest isolation of the 9th edition plus
#: monitoring is 10 days); a longer need is a new, newly approved assignment.
MAX_MANUAL_DAYS = 14
#: The longest interval of a test mandate, in hours (weekly tests of key groups).
MAX_MANDATE_INTERVAL_HOURS = 24 * 7

INFECTION_STATUSES = ("confirmed", "asymptomatic", "suspected")
RISK_LEVELS = ("high", "medium", "low")
TEST_RESULTS = ("positive", "negative")
NAT_SAMPLE_TYPES = ("oropharyngeal", "nasopharyngeal", "nasal", "saliva")
#: single-tube sampling, or pooled (混采, e.g. 10-in-1 / 20-in-1) with a pool size
NAT_POOLING = ("single", "pooled")
MAX_POOL_SIZE = 20
ANTIBODY_KINDS = ("IgM", "IgG", "total")
CONTACT_KINDS = ("close", "secondary")
ITINERARY_SOURCES = ("venue_scan", "transport_ticket", "declaration", "carrier_cell")
#: Sources precise enough to place a person in a designated area; carrier cell data is
#: city-level and only raises a pending check (a checkpoint asks), never a colour.
PRECISE_SOURCES = ("venue_scan", "transport_ticket", "declaration")
MANUAL_COLOURS = ("yellow", "red")
#: Grounds on which a manual assignment may rest; a venue scan alone is never enough.
MANUAL_GROUNDS = (
    "epidemiological_investigation",
    "contact_tracing",
    "lab_report",
    "venue_scan",
    "self_report",
)

#: COVID-19 vaccines approved (conditionally or for emergency use) in mainland China:
#: code -> (Chinese name, English name, doses in the primary series).
VACCINE_PRODUCTS: Mapping[str, tuple[str, str, int]] = {
    "BIBP": ("国药集团北京生物 新冠灭活疫苗(Vero细胞)", "Sinopharm BIBP inactivated", 2),
    "WIBP": ("国药集团武汉生物 新冠灭活疫苗(Vero细胞)", "Sinopharm WIBP inactivated", 2),
    "CoronaVac": ("北京科兴中维 新冠灭活疫苗(Vero细胞)", "Sinovac CoronaVac inactivated", 2),
    "KCONVAC": ("深圳康泰 新冠灭活疫苗(Vero细胞)", "Minhai KCONVAC inactivated", 2),
    "IMBCAMS": ("中国医学科学院医学生物学研究所 新冠灭活疫苗", "IMBCAMS inactivated", 2),
    "Ad5-nCoV": ("康希诺 重组新冠疫苗(5型腺病毒载体)", "CanSino Ad5-nCoV", 1),
    "Ad5-nCoV-IH": ("康希诺 吸入用重组新冠疫苗(5型腺病毒载体)", "CanSino Ad5-nCoV inhaled", 1),
    "ZF2001": ("智飞龙科马 重组新冠疫苗(CHO细胞)", "Zhifei ZF2001 recombinant protein", 3),
}
