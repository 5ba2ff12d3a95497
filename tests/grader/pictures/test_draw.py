"""draw(): each picture from known numbers, decodable and small; layer_messages() for the layer table."""

import io
import logging
import re

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from grader.pictures import draw as drawing
from grader.pictures.draw import draw, layer_messages, scale_pair, tile, turned_up
from grader.pictures.figures import Difference, FeatureMaps, Figures, LearningCurves, RobustnessCurve
from grader.results import CheckResult

LEVELS = {"shift": (0, 1, 2, 3, 4), "rotation": (0, 10, 20, 30), "noise": (0, 0.1, 0.2, 0.3, 0.4, 0.5)}


def lenet5_like(rng: np.random.Generator) -> Figures:
    """Every figure a LeNet-5 grading has, with LeNet-5's sizes and random numbers."""
    digit = np.zeros((2, 28, 28), np.uint8)
    digit[0, 6:20, 12:15] = 255
    digit[1, 9:23, 15:18] = 255
    layers = [("c1", "Conv2D", 28, 6), ("s2", "AveragePooling2D", 14, 6), ("c3", "Conv2D", 10, 16),
              ("s4", "AveragePooling2D", 5, 16)]
    return Figures(
        kernel_layer="c1", kernels=rng.normal(size=(5, 5, 1, 6)), digit=digit, shift_pixels=(3, 3),
        feature_maps=tuple(FeatureMaps(name, kind, rng.random((side, side, maps)), rng.random((side, side, maps)), maps)
                           for name, kind, side, maps in layers),
        curves=LearningCurves(loss=(1.2, 0.6, 0.4, 0.3, 0.25), accuracy=(0.6, 0.8, 0.88, 0.9, 0.92),
                              val_loss=(1.0, 0.5, 0.4, 0.45, 0.5), val_accuracy=(0.7, 0.82, 0.87, 0.86, 0.85),
                              train_size=7200, validation_size=800),
        confusion=np.diag(np.full(10, 190)) + rng.integers(0, 3, (10, 10)),
        robustness=tuple(RobustnessCurve(t, levels, tuple(np.linspace(0.98, 0.5, len(levels))), 400)
                         for t, levels in LEVELS.items()),
        reference_robustness=tuple(RobustnessCurve(t, levels, tuple(np.linspace(0.99, 0.7, len(levels))), 400)
                                   for t, levels in LEVELS.items()),
        differences=(Difference("worked example 2", np.arange(9.0).reshape(3, 3)[::-1, ::-1],
                                np.arange(9.0).reshape(3, 3)),))


def decoded(picture) -> Image.Image:
    image = Image.open(io.BytesIO(picture.png))
    image.load()
    return image


def pixels(picture) -> np.ndarray:
    return np.asarray(decoded(picture).convert("RGB")).reshape(-1, 3).astype(int)


def count_near(picture, rgba, tolerance: int = 6) -> int:
    """How many of the picture's pixels have (nearly) the colour `rgba` (floats 0..1)."""
    target = np.round(np.asarray(rgba[:3]) * 255).astype(int)
    return int((np.abs(pixels(picture) - target).max(axis=1) <= tolerance).sum())


def only(pictures, name):
    [picture] = [p for p in pictures if p.name == name]
    return picture


# --- every picture ---

def test_a_full_grading_gives_every_picture_in_report_order_each_decodable_and_small():
    figures = Figures.from_json(lenet5_like(np.random.default_rng(0)).to_json())  # as the gradebook hands it out
    pictures = draw(figures)
    assert [p.name for p in pictures] == ["kernels", "feature_maps_1", "feature_maps_2", "feature_maps_3",
                                          "feature_maps_4", "learning_curves", "confusion", "robustness",
                                          "difference_1"]
    for picture in pictures:
        image = decoded(picture)
        assert image.format == "PNG"
        assert 200 <= image.width <= 1200 and 150 <= image.height <= 1000, (picture.name, image.size)
        assert len(picture.png) < 150_000, picture.name
        assert picture.title and picture.caption and picture.alt
    assert sum(len(p.png) for p in pictures) < 1_000_000


def test_the_same_numbers_give_the_same_bytes():
    figures = lenet5_like(np.random.default_rng(0))
    assert [p.png for p in draw(figures)] == [p.png for p in draw(figures)]


def test_an_empty_figures_gives_no_picture():
    assert draw(Figures(missing={"kernels": "the model has no convolution"})) == []


def test_a_figure_that_cannot_be_drawn_is_left_out_and_logged_and_the_rest_is_drawn(caplog):
    figures = Figures(kernels=np.zeros((5, 5, 6)), confusion=np.eye(10, dtype=np.int64))
    with caplog.at_level(logging.ERROR, logger="grader.pictures.draw"):
        pictures = draw(figures)
    assert [p.name for p in pictures] == ["confusion"]
    assert "cannot draw the kernels picture" in caplog.text
    assert "Received shape=(5, 5, 6)" in caplog.text


@pytest.mark.filterwarnings("ignore:Glyph")  # draw.py ignores it too, but pytest resets filters per test
@pytest.mark.parametrize("name", ["c$1$", "a$\\b$", "../../etc/passwd", "<script>", "x" * 500, "名前"])
def test_a_student_layer_name_is_drawn_literally_and_never_names_a_file(name):
    maps = np.random.default_rng(0).random((6, 6, 2))
    figures = Figures(kernel_layer=name, kernels=np.ones((3, 3, 1, 2)),
                      feature_maps=(FeatureMaps(name, name, maps, maps, 2),))
    pictures = draw(figures)
    assert [p.name for p in pictures] == ["kernels", "feature_maps_1"]
    assert all(re.fullmatch(r"[a-z0-9_]+", p.name) for p in pictures)
    assert all(len(p.title) < 150 for p in pictures)


def test_mathtext_in_a_name_would_fail_without_the_escape():
    # Why _drawn escapes "$": matplotlib reads "$...$" as mathtext, and a bad formula fails the draw.
    figures = Figures(feature_maps=(FeatureMaps("a$\\frac$", "Conv2D", np.ones((4, 4, 1)), np.ones((4, 4, 1)), 1),))
    assert [p.name for p in draw(figures)] == ["feature_maps_1"]
    figure = drawing._figure(2, 2)
    figure.add_subplot().set_title("a$\\frac$")
    with pytest.raises(ValueError):
        drawing._png(figure)


# --- kernels ---

def test_kernels_are_drawn_on_one_signed_scale_red_positive_blue_negative():
    weights = np.zeros((5, 5, 1, 2))
    weights[..., 0] = 1.0   # all positive: a square of the colour map's top
    weights[..., 1] = -1.0  # all negative: its bottom
    picture = only(draw(Figures(kernel_layer="c1", kernels=weights)), "kernels")
    red, blue = colormaps[drawing.WEIGHTS](1.0), colormaps[drawing.WEIGHTS](0.0)
    positive_only = only(draw(Figures(kernels=np.abs(weights))), "kernels")
    # Each kernel is a 130-pixel square (about 16,000 pixels); the colour bar holds a few hundred of each end.
    assert count_near(picture, red) > 10_000 and count_near(picture, blue) > 10_000
    assert count_near(positive_only, red) > 25_000 and count_near(positive_only, blue) < 2_000
    assert "All 2 5x5 kernels" in picture.caption and "largest |weight| 1" in picture.caption


def test_lenet5s_six_kernels_are_each_a_readable_square():
    image = decoded(only(draw(Figures(kernels=np.ones((5, 5, 1, 6)))), "kernels"))
    assert image.width >= 6 * 100, "six 5x5 kernels at about 130 pixels each"


def test_a_blank_kernel_is_named_in_the_caption():
    weights = np.random.default_rng(0).normal(size=(5, 5, 1, 6))
    weights[..., 3] = 0.001
    assert "Map 4 is nearly blank" in only(draw(Figures(kernels=weights)), "kernels").caption


def test_many_kernels_are_one_grid_of_the_first_64_and_several_inputs_are_averaged():
    weights = np.random.default_rng(0).normal(size=(7, 7, 3, 100))
    picture = only(draw(Figures(kernels=weights)), "kernels")
    assert "The first 64 of 100 7x7 kernels" in picture.caption
    assert "3 input channels; shown is their mean" in picture.caption
    assert len(picture.png) < 300_000


# --- feature maps ---

@pytest.mark.parametrize("maps, columns, expected", [
    (np.arange(4.0).reshape(1, 1, 4), 2, [[0, np.nan, 1], [np.nan, np.nan, np.nan], [2, np.nan, 3]]),
    (np.arange(3.0).reshape(1, 1, 3), 2, [[0, np.nan, 1], [np.nan, np.nan, np.nan], [2, np.nan, np.nan]]),
    (np.arange(2.0).reshape(1, 1, 2), 8, [[0, np.nan, 1]]),
    (np.stack([np.ones((2, 2)), 2 * np.ones((2, 2))], axis=-1), 2, [[1, 1, np.nan, 2, 2], [1, 1, np.nan, 2, 2]]),
])
def test_tile_lays_maps_out_in_reading_order_with_gaps(maps, columns, expected):
    np.testing.assert_array_equal(tile(maps, columns), np.array(expected, dtype=np.float32))


def test_a_map_has_one_scale_for_both_digits_and_a_flat_map_shows_as_its_low_end():
    original = np.zeros((2, 2, 2))
    shifted = np.zeros((2, 2, 2))
    original[0, 0, 0], shifted[1, 1, 0] = 4.0, -2.0  # map 0: from -2 to 4 over both digits
    original[..., 1] = shifted[..., 1] = 7.0         # map 1: flat
    low, high = scale_pair(original, shifted)
    np.testing.assert_array_equal(low.ravel(), [-2.0, 7.0])
    np.testing.assert_array_equal(high.ravel(), [4.0, 8.0])


def test_non_finite_activations_are_left_out_of_the_scale():
    original = np.array([[[np.nan]], [[1.0]]])
    low, high = scale_pair(original, np.array([[[np.inf]], [[3.0]]]))
    assert (low.item(), high.item()) == (1.0, 3.0)


def test_feature_maps_name_the_layer_the_shift_and_the_maps_that_respond_to_nothing():
    maps = np.random.default_rng(0).random((10, 10, 16))
    maps[..., [2, 5]] = 0.0
    figures = Figures(digit=np.zeros((2, 28, 28), np.uint8), shift_pixels=(3, -2),
                      feature_maps=(FeatureMaps("c3", "Conv2D", maps, maps, 120),))
    picture = only(draw(figures), "feature_maps_1")
    assert picture.title == "Feature maps of 'c3' (Conv2D)"
    assert "shifted 3 pixels down and 2 pixels left" in picture.caption
    assert "the first 16 of its 120 maps, each 10x10" in picture.caption
    assert "Maps 3 and 6 are the same everywhere" in picture.caption


# --- learning curves ---

@pytest.mark.parametrize("val_loss, epoch", [
    ((1.0, 0.5, 0.4, 0.45, 0.5), 3),
    ((1.0, 0.5, 0.4, 0.3), None),          # still falling
    ((1.0, 0.5, 0.5, 0.502), None),        # flat within 1%: noise, not overfitting
    ((0.3, 0.4), 1),
    ((0.5,), None),
    ((), None),
    ((1.0, float("nan"), 0.5), None),
])
def test_the_line_where_validation_loss_turned_up(val_loss, epoch):
    assert turned_up(val_loss) == epoch


def test_learning_curves_say_where_validation_loss_turned_up_and_what_was_held_out():
    picture = only(draw(lenet5_like(np.random.default_rng(0))), "learning_curves")
    assert "Validation loss was lowest after epoch 3 and rose after it" in picture.caption
    assert "Trained on 7,200 public digits" in picture.caption and "800 public digits held out" in picture.caption


def test_curves_of_the_students_own_training_without_validation_say_so():
    picture = only(draw(Figures(curves=LearningCurves(loss=(0.9, 0.5)))), "learning_curves")
    assert picture.caption.startswith("Loss after each of 2 epochs")
    assert "your training used no validation data" in picture.caption


# --- confusion matrix ---

def test_the_confusion_matrix_colours_the_diagonal_green_and_names_the_worst_mistakes():
    counts = np.diag(np.full(10, 100))
    counts[4, 9], counts[7, 1], counts[3, 5] = 23, 11, 11
    picture = only(draw(Figures(confusion=counts)), "confusion")
    assert "over 1,045 hidden digits (1,000 right, 95.7%)" in picture.caption
    assert "Most often confused: 4 taken for 9 (23 times); 3 taken for 5 (11 times); 7 taken for 1 (11 times)." \
        in picture.caption
    green = drawing.DIAGONAL(1.0)
    assert count_near(picture, green) > 10 * 500, "ten green diagonal cells of about 30x30 pixels"
    assert count_near(picture, drawing.MISTAKES(1.0)) > 500, "4 taken for 9 is the darkest red"


def test_a_perfect_model_has_no_red_cell():
    picture = only(draw(Figures(confusion=np.diag(np.full(10, 100)))), "confusion")
    assert picture.caption.endswith("No mistakes.")
    assert count_near(picture, drawing.MISTAKES(1.0)) == 0


def test_the_adders_nineteen_sums_are_examples_not_digits():
    picture = only(draw(Figures(confusion=np.eye(19, dtype=np.int64) * 50)), "confusion")
    assert "950 hidden examples" in picture.caption and len(picture.png) < 300_000


# --- robustness ---

def test_robustness_compares_each_transformation_with_the_reference():
    picture = only(draw(lenet5_like(np.random.default_rng(0))), "robustness")
    assert "At the strongest shift (4 pixels) yours keeps 50%, the reference 70%." in picture.caption
    assert "At the strongest rotation (30 degrees)" in picture.caption
    assert "At the strongest noise (sigma 0.5)" in picture.caption
    assert decoded(picture).width > 3 * 250, "three panels"


def test_robustness_without_the_reference_says_so():
    figures = Figures(robustness=(RobustnessCurve("shift", (0, 1), (0.99, 0.9), 300),))
    picture = only(draw(figures), "robustness")
    assert "(1 pixel) yours keeps 90%." in picture.caption
    assert "reference model's curves are not available" in picture.caption


# --- conv_ops differences ---

def test_a_flipped_kernels_difference_says_where_it_is_largest():
    expected = np.arange(9.0).reshape(3, 3)
    picture = only(draw(Figures(differences=(Difference("worked example 2", expected[::-1, ::-1], expected),))),
                   "difference_1")
    assert picture.title == "Where conv2d is wrong: worked example 2"
    # |got - expected| = |8 - 2 (3r + c)|: 8 at the corners (0, 0) and (2, 2), 0 only at the centre.
    assert "8 of 9 values are off by more than 1e-5; the largest difference, 8, is at row 0, column 0" \
        in picture.caption
    assert "flipped kernel" in picture.caption


def test_a_difference_of_another_shape_shows_both_and_the_size_formula():
    picture = only(draw(Figures(differences=(Difference("case", np.ones((2, 2)), np.ones((3, 3))),))), "difference_1")
    assert "Your output is 2x2 where 3x3 was expected" in picture.caption


def test_non_finite_answers_are_grey_and_counted():
    got = np.array([[np.inf, 1.0], [np.nan, 2.0]])
    picture = only(draw(Figures(differences=(Difference("case", got, np.ones((2, 2))),))), "difference_1")
    assert "2 values you returned are not a finite number (shown grey)" in picture.caption


def test_only_the_first_few_differences_are_drawn():
    many = tuple(Difference(f"example {n}", np.zeros((2, 2)), np.ones((2, 2))) for n in range(7))
    pictures = draw(Figures(differences=many))
    assert [p.name for p in pictures] == [f"difference_{n}" for n in range(1, drawing.MAX_DIFFERENCES + 1)]
    assert f"the first {drawing.MAX_DIFFERENCES} of 7 wrong examples" in pictures[0].caption


# --- layer messages ---

def check(message: str, name: str = "layer output shapes") -> CheckResult:
    return CheckResult.scored(name, 4, 0.5, message)


@pytest.mark.parametrize("checks, expected", [
    ([check("Layer 'c1': output shape got (None, 32, 32, 6), expected (None, 28, 28, 6). Likely cause: padding.\n"
            "Layer 's2': output shape got (None, 16, 16, 6), expected (None, 14, 14, 6).")],
     {"c1": ["output shape got (None, 32, 32, 6), expected (None, 28, 28, 6). Likely cause: padding."],
      "s2": ["output shape got (None, 16, 16, 6), expected (None, 14, 14, 6)."]}),
    ([check("Layer 'c1': output shape got (1,), expected (2,)."),
      check("Layer 'c1': trainable parameters got 10, expected 156.", "layer parameters")],
     {"c1": ["output shape got (1,), expected (2,).", "trainable parameters got 10, expected 156."]}),
    ([check("Your model has no layer named 'c3' (it has: c1, s2). Pass name='c3' when you create that layer.")],
     {"c3": ["Your model has no layer named 'c3' (it has: c1, s2). Pass name='c3' when you create that layer."]}),
    ([check("Layer 'conv5_block3_out' has output shape (None, 1, 1, 1000), so the grader cannot classify.")],
     {"conv5_block3_out": ["has output shape (None, 1, 1, 1000), so the grader cannot classify."]}),
    ([check("All 7 layers have the expected output shapes."), check("Layer 'c1': x."), check("Layer 'c1': x.")],
     {"c1": ["x."]}),
    ([check("Accuracy 91.5% on the hidden digits; the layer 'c1' looks fine.")], {}),
])
def test_layer_messages_are_the_lines_about_each_layer(checks, expected):
    assert layer_messages(checks) == expected
