"""Neonatal size norms by gestational (post-menstrual) age, for sizing the phantom's anatomy.

Every table gives the 50th and 97th centile (or mean and SD) at GA 24-42 weeks; values between
knots are linearly interpolated and clamped outside. The numbers are read off the published
charts (approximately: digitised by eye, rounded to 0.1-0.5 mm) - good enough to make a phantom
whose normal cases sit inside the reference ranges and whose dilated cases cross the same
thresholds radiologists use; they are not a substitute for the charts in clinical use.

Sources:

* Head circumference: Fenton TR, Kim JH. A systematic review and meta-analysis to revise the Fenton
  growth chart for preterm infants. BMC Pediatr 2013;13:59 (boys and girls averaged; boys ~+0.4 cm).
* Ventricular index (VI, Levene): Levene MI. Measurement of the growth of the lateral ventricles in
  preterm infants with real-time ultrasound. Arch Dis Child 1981;56:900-904; refined by Brouwer MJ,
  de Vries LS, Groenendaal F, et al. New reference values for the neonatal cerebral ventricles.
  Radiology 2012;262:224-233. VI = distance from the falx to the lateral wall of the lateral
  ventricle in the coronal plane through the foramina of Monro.
* Anterior horn width (AHW), thalamo-occipital distance (TOD) and third ventricle width: Davies MW,
  Swaminathan M, Chuang SL, Betheras FR. Reference ranges for the linear dimensions of the
  intracranial ventricles in preterm neonates. Arch Dis Child Fetal Neonatal Ed 2000;82:F218-F223;
  and Brouwer et al. 2012 (above). AHW = the widest diagonal width of the frontal horn in the same
  coronal plane; TOD = distance from the outermost point of the thalamus at its junction with the
  choroid plexus to the outermost point of the occipital horn, parasagittal plane.
* Intervention thresholds for post-haemorrhagic ventricular dilatation: de Vries LS, Groenendaal F,
  Liem KD, et al. (ELVIS study group). Treatment thresholds for intervention in posthaemorrhagic
  ventricular dilation: a randomised controlled trial. Arch Dis Child Fetal Neonatal Ed
  2019;104:F70-F75 (low threshold VI > p97 and AHW > 6 mm; high threshold VI > p97 + 4 mm and
  AHW > 10 mm; TOD > 25 mm).
* Transverse cerebellar diameter (TCD): approximately 1 mm per week of GA plus ~10-14 mm in preterm
  neonates, ~50 mm at term (Graca AM, Geraldo AF, Cardoso K, Cowan FM. Preterm cerebellum at term
  age: ultrasound measurements are not different from infants born at term. Pediatr Res
  2013;74:698-704; and fetal charts). Used only to size the cerebellum.
* Cephalic index (BPD / OFD) of a neonate: ~0.75-0.88 (mean ~0.80).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GA_KNOTS = np.array([24.0, 28.0, 32.0, 36.0, 40.0, 42.0])

# Head circumference (cm): 50th centile and SD (Fenton 2013, sexes averaged).
_HC_P50_CM = np.array([22.0, 25.7, 29.2, 32.2, 34.5, 35.4])
_HC_SD_CM = np.array([1.3, 1.3, 1.3, 1.3, 1.3, 1.3])
HC_SEX_OFFSET_CM = 0.4  # boys larger by ~0.8 cm than girls

# Ventricular index (mm): 50th and 97th centile (Levene 1981 / Brouwer 2012).
_VI_P50 = np.array([8.5, 9.5, 10.5, 11.3, 12.0, 12.3])
_VI_P97 = np.array([10.5, 11.5, 12.5, 13.5, 14.3, 14.6])

# Anterior horn width (mm) (Davies 2000 / Brouwer 2012).
_AHW_P50 = np.array([1.0, 1.2, 1.4, 1.5, 1.6, 1.6])
_AHW_P97 = np.array([2.5, 2.8, 3.0, 3.0, 3.0, 3.0])

# Thalamo-occipital distance (mm) (Davies 2000 / Brouwer 2012).
_TOD_P50 = np.array([14.0, 16.0, 18.0, 19.0, 20.0, 20.5])
_TOD_P97 = np.array([20.0, 22.0, 24.0, 25.0, 25.5, 26.0])

# Third ventricle width (mm) (Davies 2000 / Brouwer 2012).
_V3_P50 = np.array([1.0, 1.0, 1.2, 1.3, 1.5, 1.5])
_V3_P97 = np.array([2.5, 2.5, 2.7, 2.8, 3.0, 3.0])

# Transverse cerebellar diameter (mm).
_TCD_P50 = np.array([27.0, 32.0, 38.0, 44.0, 50.0, 53.0])

Z97 = 1.8808  # standard normal quantile of the 97th centile

# ELVIS high treatment threshold for the ventricular index: p97 + 4 mm
VI_HIGH_MARGIN_MM = 4.0


def _at(table: np.ndarray, ga_weeks: float) -> float:
    return float(np.interp(float(ga_weeks), GA_KNOTS, table))


@dataclass(frozen=True)
class Centiles:
    """A norm at one GA: median and 97th centile; SD assumes normality."""

    p50: float
    p97: float

    @property
    def sd(self) -> float:
        return (self.p97 - self.p50) / Z97

    def at_z(self, z: float) -> float:
        """The value at z standard deviations from the median."""
        return self.p50 + z * self.sd

    def z_of(self, value: float) -> float:
        return (value - self.p50) / self.sd


def head_circumference_mm(ga_weeks: float, *, z: float = 0.0, male: bool | None = None) -> float:
    """Head circumference (mm) at ``ga_weeks`` and SD score ``z`` (Fenton 2013)."""
    hc = _at(_HC_P50_CM, ga_weeks) + z * _at(_HC_SD_CM, ga_weeks)
    if male is not None:
        hc += HC_SEX_OFFSET_CM if male else -HC_SEX_OFFSET_CM
    return 10.0 * hc


def head_axes_mm(hc_mm: float, *, cephalic_index: float = 0.8) -> tuple[float, float]:
    """(BPD, OFD) in mm of an elliptical head of circumference ``hc_mm`` (Ramanujan's perimeter)."""
    # perimeter of an ellipse with semi-axes a >= b: pi (a+b) (1 + 3h / (10 + sqrt(4 - 3h)))
    ci = float(cephalic_index)
    h = ((1 - ci) / (1 + ci)) ** 2
    factor = np.pi * (1 + ci) * (1 + 3 * h / (10 + np.sqrt(4 - 3 * h)))
    a = hc_mm / factor  # semi OFD
    return 2 * a * ci, 2 * a


def ventricular_index(ga_weeks: float) -> Centiles:
    """Ventricular index (mm), Levene 1981 / Brouwer 2012."""
    return Centiles(_at(_VI_P50, ga_weeks), _at(_VI_P97, ga_weeks))


def anterior_horn_width(ga_weeks: float) -> Centiles:
    """Anterior horn width (mm), Davies 2000 / Brouwer 2012."""
    return Centiles(_at(_AHW_P50, ga_weeks), _at(_AHW_P97, ga_weeks))


def thalamo_occipital_distance(ga_weeks: float) -> Centiles:
    """Thalamo-occipital distance (mm), Davies 2000 / Brouwer 2012."""
    return Centiles(_at(_TOD_P50, ga_weeks), _at(_TOD_P97, ga_weeks))


def third_ventricle_width(ga_weeks: float) -> Centiles:
    """Third ventricle width (mm), Davies 2000 / Brouwer 2012."""
    return Centiles(_at(_V3_P50, ga_weeks), _at(_V3_P97, ga_weeks))


def transverse_cerebellar_diameter_mm(ga_weeks: float) -> float:
    """Median transverse cerebellar diameter (mm)."""
    return _at(_TCD_P50, ga_weeks)


def brain_scale(ga_weeks: float, *, hc_mm: float | None = None) -> float:
    """Linear size of the brain relative to a median term (40 wk) neonate, from head circumference."""
    hc = head_circumference_mm(ga_weeks) if hc_mm is None else hc_mm
    return float(hc / head_circumference_mm(40.0))


def sulcal_maturity(ga_weeks: float) -> float:
    """Cortical folding maturity in [0, 1]: ~0 (smooth, lissencephalic look) at 24-26 weeks, 1 at term.

    After the sonographic timetable of sulcal development (e.g. Murphy NP et al., Arch Dis Child
    1989;64:569-572; van der Knaap MS et al., Radiology 1996;200:389-396): Sylvian fissure open and
    box-like before 28 weeks, callosal / parieto-occipital / calcarine sulci from ~24-28 weeks,
    cingulate and central sulci ~28-30 weeks, secondary and tertiary sulci by 34-40 weeks.
    """
    return float(np.clip((float(ga_weeks) - 25.0) / 14.0, 0.0, 1.0))
