"""InfoNCE and FLOPS against hand computations on a fixed tiny batch."""

from __future__ import annotations

import math

import pytest
import torch

from laconic.training.losses import flops, gather_with_grad, info_nce, laconic_loss

Q = torch.tensor([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]])
# two passages per query: rows 0-1 belong to query 0 (positive: row 0), rows 2-3 to query 1 (positive: row 2)
P = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 2.0, 0.0], [1.0, 1.0, 1.0]])


def _hand_info_nce(temperature: float = 1.0) -> float:
    # q0 . p = [1, 2, 0, 3], positive p0;  q1 . p = [0, 0, 2, 1], positive p2
    l0 = -1 / temperature + math.log(sum(math.exp(s / temperature) for s in (1, 2, 0, 3)))
    l1 = -2 / temperature + math.log(sum(math.exp(s / temperature) for s in (0, 0, 2, 1)))
    return (l0 + l1) / 2


def test_info_nce_matches_hand_computation():
    assert info_nce(Q, P).item() == pytest.approx(_hand_info_nce(), rel=1e-6)
    assert info_nce(Q, P, temperature=0.5).item() == pytest.approx(_hand_info_nce(0.5), rel=1e-6)


def test_in_batch_negatives_count():
    """Other queries' passages are negatives too: dropping them changes the loss."""
    own_only = sum(
        -s[0] + math.log(sum(math.exp(x) for x in s)) for s in ((1, 2), (2, 1))
    ) / 2
    assert info_nce(Q, P).item() != pytest.approx(own_only, rel=1e-3)


def test_flops_matches_hand_computation():
    # mean |q_j| over the batch: [0.5, 0.5, 1.0] -> 0.25 + 0.25 + 1.0
    assert flops(Q).item() == pytest.approx(1.5)
    # passages: [0.5, 0.75, 0.5] -> 0.25 + 0.5625 + 0.25
    assert flops(P).item() == pytest.approx(1.0625)
    assert flops(-Q).item() == pytest.approx(1.5)  # absolute values


def test_laconic_loss_total_and_gradients():
    q, p = Q.clone().requires_grad_(True), P.clone().requires_grad_(True)
    parts = laconic_loss(q, p, lambda_q=0.1, lambda_d=0.2)
    expected = _hand_info_nce() + 0.1 * 1.5 + 0.2 * 1.0625
    assert parts.total.item() == pytest.approx(expected, rel=1e-6)
    assert parts.ranking == pytest.approx(_hand_info_nce(), rel=1e-6)
    assert (parts.flops_q, parts.flops_d) == (pytest.approx(1.5), pytest.approx(1.0625))
    parts.total.backward()
    # gradient of the FLOPS part on q[0, 2]: 0.1 * 2 * mean_j * sign / B = 0.1 * 2 * 1.0 / 2
    q_ref = Q.clone().requires_grad_(True)
    info_nce(q_ref, P).backward()
    assert q.grad[0, 2].item() == pytest.approx(q_ref.grad[0, 2].item() + 0.1, rel=1e-5)


def test_groups_must_divide():
    with pytest.raises(ValueError, match="groups"):
        info_nce(Q, P[:3])


def test_gather_is_identity_without_process_group():
    x = torch.randn(3, 4, requires_grad=True)
    assert gather_with_grad(x) is x
