"""Shifted, rotated and noisy digits made in NumPy, and the curves scored from predictions on them."""

import numpy as np
import pytest

from grader.assignment import load_assignment
from grader.config import REPO_ROOT, Config
from grader.pictures import robustness
from grader.pictures.robustness import LEVELS, UNTOUCHED, accuracy_at, add_noise, curves, make_set, rotate, shift


def dot(row: int, col: int, size: int = 5) -> np.ndarray:
    image = np.zeros((1, size, size), dtype=np.uint8)
    image[0, row, col] = 200
    return image


@pytest.mark.parametrize("down, right, expected", [
    (0, 0, (1, 3)), (1, 0, (2, 3)), (-1, 0, (0, 3)), (0, 1, (1, 4)), (0, -3, (1, 0)), (2, -1, (3, 2)),
])
def test_a_shift_moves_every_pixel_by_whole_pixels(down, right, expected):
    moved = shift(dot(1, 3), down, right)[0]
    assert moved[expected] == 200 and moved.sum() == 200


def test_what_a_shift_pushes_out_is_gone_and_zeros_come_in():
    assert shift(dot(1, 4), 0, 1).sum() == 0
    image = np.full((1, 4, 4), 7, dtype=np.uint8)
    moved = shift(image, 1, 0)[0]
    assert moved[0].tolist() == [0, 0, 0, 0] and (moved[1:] == 7).all()


def test_each_image_gets_its_own_shift():
    images = np.concatenate([dot(2, 2), dot(2, 2)])
    moved = shift(images, np.array([1, -1]), np.array([0, 2]))
    assert moved[0, 3, 2] == 200 and moved[1, 1, 4] == 200


def test_rotations_by_right_angles_are_exact_and_counter_clockwise_on_screen():
    image = np.random.default_rng(0).integers(0, 256, (1, 7, 7), dtype=np.uint8)
    np.testing.assert_array_equal(rotate(image, 0), image)
    np.testing.assert_array_equal(rotate(image, 90)[0], np.rot90(image[0], 1))  # rot90 turns counter-clockwise
    np.testing.assert_array_equal(rotate(image, -90)[0], np.rot90(image[0], -1))
    np.testing.assert_array_equal(rotate(image, 180)[0], np.rot90(image[0], 2))


def test_a_rotation_interpolates_bilinearly_and_keeps_a_disk():
    y, x = np.mgrid[0:28, 0:28]
    disk = (((y - 13.5) ** 2 + (x - 13.5) ** 2 <= 64) * 255).astype(np.uint8)[None]
    turned = rotate(disk, 30)
    # Inside and far outside the disk nothing changes; only its rim is interpolated (atol: 0 away from it).
    radius = np.hypot(y - 13.5, x - 13.5)
    assert (turned[0][radius < 6.5] == 255).all() and (turned[0][radius > 9.5] == 0).all()
    half = np.zeros((1, 3, 3), dtype=np.uint8)
    half[0, 0, 1] = 100  # a 45-degree turn takes the top pixel to between the top and top-left pixels
    assert 0 < rotate(half, 45)[0, 0, 0] < 100


def test_noise_is_gaussian_on_zero_to_one_pixels_and_clipped():
    images = np.array([[[0, 128, 255]]], dtype=np.uint8)
    pattern = np.array([[[1.0, -1.0, 1.0]]])
    np.testing.assert_array_equal(add_noise(images, 0.0, pattern), images)
    assert add_noise(images, 0.2, pattern).tolist() == [[[51, 77, 255]]]  # 0 + 0.2, 128/255 - 0.2, clipped


def test_a_set_holds_the_same_digits_at_every_level_of_every_transformation():
    rng = np.random.default_rng(0)
    digits, labels = rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), np.arange(50) % 10
    images, plan = make_set(digits, labels, np.random.default_rng(7), digits=20)
    blocks = 1 + sum(len(levels) - 1 for levels in LEVELS.values())
    assert images.shape == (20 * blocks, 28, 28) and images.dtype == np.uint8
    assert plan.blocks[0] == UNTOUCHED and len(plan.blocks) == blocks == plan.size // 20
    chosen = [int(np.flatnonzero((digits == image).all(axis=(1, 2)))[0]) for image in images[:20]]
    assert len(set(chosen)) == 20 and plan.labels.tolist() == labels[chosen].tolist()
    shift_4 = images[20 * plan.blocks.index(("shift", 4)):][:20]
    for original, moved in zip(images[:20], shift_4):  # each digit moved 4 pixels one way
        assert any(np.array_equal(shift(original[None], 4 * d, 4 * r)[0], moved) for d, r in robustness.DIRECTIONS)
    again, _ = make_set(digits, labels, np.random.default_rng(7), digits=20)
    np.testing.assert_array_equal(again, images)
    assert not np.array_equal(make_set(digits, labels, np.random.default_rng(8), digits=20)[0], images)


def test_curves_score_each_block_against_the_labels_the_sandbox_never_saw():
    labels = np.array([0, 1, 2, 3])
    blocks = (UNTOUCHED, *((t, level) for t, levels in LEVELS.items() for level in levels[1:]))
    plan = robustness.RobustnessPlan(labels, blocks)
    predicted = np.tile(labels, (len(blocks), 1))
    predicted[blocks.index(("shift", 2)), :2] = 9  # half wrong at a 2-pixel shift
    predicted[blocks.index(("rotation", 30))] = 9  # all wrong at 30 degrees
    found = curves(plan, np.eye(10)[predicted.reshape(-1)])
    assert [c.transform for c in found] == ["shift", "rotation", "noise"]
    assert found[0].levels == (0.0, 1.0, 2.0, 3.0, 4.0) and found[0].accuracy == (1.0, 1.0, 0.5, 1.0, 1.0)
    assert found[1].accuracy[-1] == 0.0 and found[2].accuracy == (1.0,) * 6 and found[0].digits == 4
    assert accuracy_at(found, "shift", 2) == 0.5 and accuracy_at(found, "shift", 9) is None
    with pytest.raises(ValueError, match="Expected 64 predictions"):
        curves(plan, np.zeros((3, 10)))


@pytest.mark.slow
def test_the_reference_lenet5_loses_accuracy_with_shift_and_rotation(tmp_path):
    from grader.grading import grade_path

    config = Config(use_keras_download=False, secret_path=tmp_path / "secret", cache_dir=tmp_path / "cache")
    report = grade_path(REPO_ROOT / "reference" / "lenet5.py", load_assignment("lenet5"), config, reference=True)
    found = {curve.transform: curve.accuracy for curve in report.figures.robustness}
    # Measured on the 8,000-digit sample (500 hidden digits a level): 96.5% untouched; 81.5, 56 and 35%
    # at 2, 3 and 4-pixel shifts; 86, 78 and 69% at 20, 25 and 30 degrees; 47.5% at noise sigma 0.5.
    for transform in ("shift", "rotation"):
        accuracy = found[transform]
        assert accuracy[0] > 0.9 and accuracy[-1] < accuracy[0] - 0.1, (transform, accuracy)
        assert all(later <= earlier + 0.02 for earlier, later in zip(accuracy, accuracy[1:])), (transform, accuracy)
    assert found["noise"][-1] < found["noise"][0]
