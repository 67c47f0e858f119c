"""Learning-rate and λ schedules."""

from __future__ import annotations

import math

import pytest
import torch

from laconic.training.schedules import lambda_at, lr_multiplier, make_lr_scheduler, warmup_steps


def test_warmup_then_cosine_to_zero():
    total, warm = 100, warmup_steps(100, 0.05)
    assert warm == 5
    assert [lr_multiplier(s, total, warm) for s in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert lr_multiplier(5, total, warm) == pytest.approx(1.0)
    mid = 5 + 95 / 2
    assert lr_multiplier(int(mid), total, warm) == pytest.approx(0.5 * (1 + math.cos(math.pi * (int(mid) - 5) / 95)))
    assert lr_multiplier(100, total, warm) == pytest.approx(0.0, abs=1e-12)
    assert lr_multiplier(50, total, warm, "linear") == pytest.approx(1 - 45 / 95)
    assert lr_multiplier(80, total, warm, "constant") == 1.0


def test_lambda_rises_quadratically():
    assert lambda_at(0, 1e-3, 100) == 0.0
    assert lambda_at(50, 1e-3, 100) == pytest.approx(1e-3 * 0.25)
    assert lambda_at(100, 1e-3, 100) == pytest.approx(1e-3)
    assert lambda_at(10_000, 1e-3, 100) == pytest.approx(1e-3)
    assert lambda_at(0, 1e-3, 0) == 1e-3


def test_scheduler_state_resumes():
    def make():
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        return opt, make_lr_scheduler(opt, 20, 0.1)

    opt, sched = make()
    for _ in range(7):
        opt.step()
        sched.step()
    opt2, sched2 = make()
    sched2.load_state_dict(sched.state_dict())
    opt.step(), sched.step(), opt2.step(), sched2.step()
    assert sched2.get_last_lr() == pytest.approx(sched.get_last_lr())
    assert sched.get_last_lr()[0] == pytest.approx(lr_multiplier(8, 20, 2))
