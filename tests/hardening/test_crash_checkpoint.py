"""SIGKILL during a training checkpoint save leaves every listed checkpoint loadable."""

from __future__ import annotations

import textwrap

import torch
from crash import kill_mid_write

from laconic.training.checkpoint import checkpoint_dirs, latest_checkpoint, load_checkpoint

WIDTH = 1024  # 1M weights + Adam state: large enough that a save takes a while


def _objects():
    model = torch.nn.Linear(WIDTH, WIDTH, bias=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return model, optimizer, scheduler


WRITER = textwrap.dedent(
    f"""
    import torch
    from laconic.training.checkpoint import TrainingState, save_checkpoint
    from laconic.training.distributed import all_rng_states
    model = torch.nn.Linear({WIDTH}, {WIDTH}, bias=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    model(torch.ones(1, {WIDTH})).sum().backward(); optimizer.step()
    for step in range(1, 10_000):
        with torch.no_grad():
            model.weight.fill_(float(step))  # the content names the step
        state = TrainingState(step=step, micro_step=4 * step, optimizer=optimizer.state_dict(),
                              scheduler=scheduler.state_dict(), rng=all_rng_states(), config={{"step": step}},
                              trainable=dict(model.state_dict()))
        save_checkpoint(RUN, state, keep=3)
    """
)


def test_kill_during_checkpoint_save(tmp_path):
    run = tmp_path / "run"
    script = f"RUN = {str(run)!r}\n" + WRITER
    temps = kill_mid_write(script, run / "checkpoints", lambda: len(checkpoint_dirs(run)) >= 2, writes_to_skip=1)
    assert temps, "the kill should land while a checkpoint was being written"
    listed = checkpoint_dirs(run)
    assert listed and all(".tmp-" not in p.name for p in listed)  # the partial one is ignored
    latest = latest_checkpoint(run)
    assert latest == listed[-1]
    for path in listed:
        model, optimizer, scheduler = _objects()
        state = load_checkpoint(path)
        model.load_state_dict(state.trainable)
        optimizer.load_state_dict(state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        assert state.path == path and state.micro_step == 4 * state.step and state.world_size == 1
        assert path.name == f"step-{state.step:08d}"
        assert torch.all(model.weight == float(state.step))  # complete, not a mix of versions
