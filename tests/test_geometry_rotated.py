import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocus.geometry import RotatedBox, corners_to_rbox, normalize_rbox, rbox_to_corners


def test_axis_aligned_corners():
    c = rbox_to_corners((10, 20, 8, 4, 0))
    assert np.allclose(c.min(0), [6, 18]) and np.allclose(c.max(0), [14, 22])


def test_angle_measured_from_x_toward_y():
    # Long side pointing down-right at 30 degrees (y down): the far end lies at +x, +y.
    c = rbox_to_corners((0, 0, 10, 0, 30))
    ends = c[[0, 1]]
    assert np.allclose(ends[1] - ends[0], [10 * np.cos(np.pi / 6), 10 * np.sin(np.pi / 6)])


def test_normalize_swaps_to_long_edge():
    assert normalize_rbox(0, 0, 2, 6, 10) == (0.0, 0.0, 6.0, 2.0, -80.0)
    assert normalize_rbox(0, 0, 6, 2, 90) == (0.0, 0.0, 6.0, 2.0, -90.0)
    with pytest.raises(ValueError):
        RotatedBox(0, 0, 2, 6, 0)
    with pytest.raises(ValueError):
        RotatedBox(0, 0, 6, 2, 90)


@settings(max_examples=200, deadline=None)
@given(
    cx=st.floats(-500, 500),
    cy=st.floats(-500, 500),
    w=st.floats(2, 300),
    ratio=st.floats(0.05, 0.9),
    angle=st.floats(-90, 89.99),
)
def test_round_trip(cx, cy, w, ratio, angle):
    box = RotatedBox.from_any(cx, cy, w, w * ratio, angle)
    back = corners_to_rbox(box.corners())
    assert np.allclose(back[:4], box.as_tuple()[:4], atol=2e-2 * max(1, w / 50))
    d = (back[4] - box.angle + 90) % 180 - 90
    assert abs(d) < 0.2
