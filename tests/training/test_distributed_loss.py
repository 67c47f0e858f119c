"""Two gloo processes: the gathered loss gives each rank exactly its slice of the full-batch gradient."""

from __future__ import annotations

import torch
import torch.multiprocessing as mp

from laconic.training.losses import laconic_loss


def _data():
    g = torch.Generator().manual_seed(0)
    q = torch.rand(4, 10, generator=g)  # 4 queries, 2 per rank
    p = torch.rand(12, 10, generator=g)  # 3 passages per query
    return q, p


def _worker(rank: int, world: int, init_file: str, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    q, p = _data()
    q_local = q[rank * 2:(rank + 1) * 2].clone().requires_grad_(True)
    p_local = p[rank * 6:(rank + 1) * 6].clone().requires_grad_(True)
    parts = laconic_loss(q_local, p_local, lambda_q=0.3, lambda_d=0.1)
    parts.total.backward()
    # DDP averages *parameter* gradients over ranks: sum_r J_r^T g_r / world. So each rank's
    # vector gradient divided by the world size must be its slice of the full-batch gradient.
    grads = [q_local.grad / world, p_local.grad / world]
    torch.save({"ranking": parts.ranking, "q": grads[0], "p": grads[1]}, f"{out}.{rank}")
    dist.destroy_process_group()


def test_gathered_loss_matches_single_process(tmp_path):
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), str(tmp_path / "grads")), nprocs=2, join=True)
    q, p = _data()
    q.requires_grad_(True), p.requires_grad_(True)
    full = laconic_loss(q, p, lambda_q=0.3, lambda_d=0.1)
    full.total.backward()
    for rank in range(2):
        got = torch.load(tmp_path / f"grads.{rank}")
        assert abs(got["ranking"] - full.ranking) < 1e-6  # every rank sees the global loss
        torch.testing.assert_close(got["q"], q.grad[rank * 2:(rank + 1) * 2], rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(got["p"], p.grad[rank * 6:(rank + 1) * 6], rtol=1e-5, atol=1e-7)
