"""models/sampling.py: temperature and top-k sampling of the next token."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor
from tinygrad_edu.models.sampling import sample_next


def test_draws_follow_the_softmax_distribution():
    logits = np.log(np.array([[0.1, 0.2, 0.3, 0.4]]))
    rows = np.repeat(logits, 20000, axis=0)                     # (20000, 4)
    ids = sample_next(Tensor(rows), generator=np.random.default_rng(0)).numpy()
    assert ids.shape == (20000, 1) and ids.dtype == np.int64
    frequencies = np.bincount(ids.ravel(), minlength=4) / len(ids)
    np.testing.assert_allclose(frequencies, [0.1, 0.2, 0.3, 0.4], atol=0.015)


def test_temperature_rescales_the_logits():
    logits = np.log(np.array([[0.2, 0.8]]))
    rows = np.repeat(logits, 20000, axis=0)
    ids = sample_next(Tensor(rows), temperature=0.5, generator=np.random.default_rng(1)).numpy()
    expected = np.array([0.04, 0.64]) / 0.68                    # p^(1/T), renormalised
    np.testing.assert_allclose(np.bincount(ids.ravel(), minlength=2) / len(ids), expected,
                               atol=0.015)


def test_top_k_only_draws_from_the_k_largest(rng):
    logits = rng.standard_normal((500, 10))
    ids = sample_next(Tensor(logits), top_k=3, generator=np.random.default_rng(2)).numpy().ravel()
    top3 = np.argsort(logits, axis=1)[:, -3:]
    assert all(i in row for i, row in zip(ids, top3))
    assert len(set(ids.tolist())) > 3   # different rows do draw different tokens


def test_top_k_one_is_argmax(rng):
    logits = rng.standard_normal((50, 17))
    ids = sample_next(Tensor(logits), top_k=1, temperature=3.0).numpy().ravel()
    np.testing.assert_array_equal(ids, logits.argmax(axis=1))


def test_device_generator_is_reseeded_by_manual_seed(rng):
    logits = Tensor(rng.standard_normal((30, 8)))
    tg.manual_seed(7)
    first = sample_next(logits).numpy()
    tg.manual_seed(7)
    np.testing.assert_array_equal(sample_next(logits).numpy(), first)


@pytest.mark.parametrize("kwargs, message", [({"temperature": 0}, "temperature"),
                                             ({"top_k": 0}, "top_k")])
def test_bad_settings_raise(kwargs, message):
    with pytest.raises(ValueError, match=f"GPT.generate: {message}"):
        sample_next(tg.zeros(1, 4), model="GPT", **kwargs)
