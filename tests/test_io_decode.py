"""Shared decode helpers: frame accumulation under limits, colour -> grey, scaling, timestamps."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocus.errors import InputFileError
from neocus.io.decode import (
    DecodeLimits,
    FrameStack,
    human_bytes,
    scale_to_uint8,
    timestamps_from_fps,
    to_grey,
)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), expected=st.integers(0, 50))
def test_frame_stack_equals_stacking_whatever_the_expected_count(n: int, expected: int) -> None:
    frames = [np.full((3, 4), i, np.uint8) for i in range(n)]
    stack = FrameStack(3, 4, expected=expected, limits=DecodeLimits(), where="x")
    for f in frames:
        stack.append(f)
    assert np.array_equal(stack.result(), np.stack(frames))


def test_frame_stack_refuses_growth_past_the_memory_cap() -> None:
    stack = FrameStack(10, 10, expected=2, limits=DecodeLimits(max_bytes=450), where="clip.mp4")
    for _ in range(4):
        stack.append(np.zeros((10, 10), np.uint8))
    with pytest.raises(InputFileError, match="5 frames of 10x10 need 500 B decoded, above the limit of 450 B"):
        stack.append(np.zeros((10, 10), np.uint8))


def test_frame_stack_refuses_a_frame_of_another_size() -> None:
    stack = FrameStack(10, 10, expected=2, limits=DecodeLimits(), where="clip.mp4")
    stack.append(np.zeros((10, 10), np.uint8))
    with pytest.raises(InputFileError, match="frame 1 is 12x10, the first was 10x10"):
        stack.append(np.zeros((10, 12), np.uint8))


def test_limits_on_frame_sides() -> None:
    limits = DecodeLimits(max_side=100)
    limits.check_frame(100, 100, where="a")
    with pytest.raises(InputFileError, match="101x5 exceeds the limit of 100 px"):
        limits.check_frame(5, 101, where="a")
    with pytest.raises(InputFileError, match="empty"):
        limits.check_frame(0, 10, where="a")


def test_to_grey_uses_bt601_weights_in_either_channel_order() -> None:
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], np.uint8)
    expected = np.rint(rgb.astype(float) @ [0.299, 0.587, 0.114])
    assert np.abs(to_grey(rgb).astype(int) - expected).max() <= 1
    assert np.array_equal(to_grey(rgb[..., ::-1].copy(), channel_order="BGR"), to_grey(rgb))
    rgba = np.dstack([rgb, np.zeros((1, 4), np.uint8)])
    assert np.array_equal(to_grey(rgba), to_grey(rgb))
    assert to_grey(rgb[..., :1]).shape == (1, 4)
    with pytest.raises(ValueError, match="2 channels"):
        to_grey(rgb[..., :2])


def test_scale_and_timestamps() -> None:
    assert scale_to_uint8(np.array([-10.0, 0.0, 50.0, 100.0, 200.0]), 0, 100).tolist() == [0, 0, 128, 255, 255]
    assert scale_to_uint8(np.array([5, 5]), 5, 5).tolist() == [0, 0]
    assert timestamps_from_fps(3, 20.0).tolist() == [0.0, 0.05, 0.1]
    assert timestamps_from_fps(3, None).tolist() == [0.0, 1.0, 2.0]
    assert human_bytes(3 * 1024**3) == "3.0 GiB"
