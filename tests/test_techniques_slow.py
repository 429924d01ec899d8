"""The measured claims of the large-model techniques, trained for real (slow: run with
``pytest -m slow``; each takes a minute or two on two cores). The experiments are those of
``benchmarks/techniques.py`` at smaller sizes; the README has the full-size numbers."""
import numpy as np
import pytest

from benchmarks import techniques

pytestmark = pytest.mark.slow


def test_finetuned_and_lora_beat_training_from_scratch(one_thread):
    """Pre-train without email/, then 200 steps on email/: both pre-trained starts end far
    below the model trained from scratch on email/ alone, at every evaluation."""
    result = techniques.finetune_experiment(pretrain_steps=600, finetune_steps=200,
                                            pretrain_chars=1_000_000, eval_every=50)
    curves = result["curves"]
    assert curves["pretraining"][-1]["val_loss"] < 2.2
    for tuned in ("finetuned", "lora"):
        for ours, scratch in zip(curves[tuned][1:], curves["scratch"][1:]):
            assert ours["val_loss"] < scratch["val_loss"] - 0.2, (tuned, ours, scratch)
    assert curves["finetuned"][-1]["val_loss"] < curves["finetuned"][0]["val_loss"]
    assert result["parameters"]["lora"] < 0.2 * result["parameters"]["total"]


def test_distilled_student_beats_the_same_student_on_labels_alone(one_thread):
    """The digits experiment at full size (about a minute): teacher CNN(width=2), student the
    widest MLP at least 10x smaller (64-110-10), three seeds; on every seed the distilled
    student's test accuracy is higher than the same student's on the labels alone, from the
    same initial weights and batches. (MNIST, a few minutes: the README.)"""
    result = techniques.distill_experiment("digits", seeds=(0, 1, 2))
    assert result["teacher_parameters"] >= 10 * result["student_parameters"]
    assert result["teacher"] > 0.97
    for alone, distilled in zip(result["alone"], result["distilled"]):
        assert distilled > alone, result


def test_quantized_models_stay_within_half_a_point(one_thread):
    """The trained MLP and CNN on the digits: int8 accuracy within 0.5 points of float32, and
    the int8 checkpoint (deflated, as ``tinygrad-edu quantize`` writes it) at most 30% of the
    float32 one."""
    for row in techniques.quantize_experiment("digits", epochs=60):
        assert row["float_accuracy"] > 0.95, row
        assert abs(row["int8_accuracy"] - row["float_accuracy"]) <= 0.005, row
        assert row["int8_bytes"] <= 0.30 * row["float_bytes"], row
        assert row["int8_payload"] <= 0.30 * row["float_payload"], row
