"""`train(config)`: the whole curriculum step as one readable accelerate loop.

Reading order: resolve devices -> load data -> load the encoder (+ LoRA) ->
optimiser and schedule -> resume -> for each micro-batch: embed, InfoNCE +
λ_t·FLOPS, backward (plain or gradient cache) -> every ``grad_accumulation``
micro-batches: clip, step, log, checkpoint -> ``final/`` (an encoder).

The same code runs on one CPU, one GPU, or many GPUs under
``accelerate launch`` (DDP or FSDP, set by the accelerate config file).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import time
from pathlib import Path

import torch
from accelerate.utils import DistributedType

from laconic.errors import ConfigError
from laconic.storage import atomic_write_text
from laconic.training import checkpoint as ckpt
from laconic.training import distributed as dist_state
from laconic.training.adapters import attach_lora, load_encoder, write_adapter
from laconic.training.collator import BatchPlan, CpuTokenize, GroupCollator, GroupDataset
from laconic.training.config import TrainingConfig
from laconic.training.data import open_records
from laconic.training.gradcache import gradcache_step
from laconic.training.losses import laconic_loss
from laconic.training.schedules import lambda_at, make_lr_scheduler
from laconic.training.sharding import no_gradient_sync, shard_encoder, take_fsdp_request
from laconic.training.tracking import MetricsLogger, read_metrics


def _total_steps(config: TrainingConfig, micro_per_epoch: int) -> tuple[int, int]:
    """(optimiser steps, epochs the data plan must cover)."""
    if config.max_steps > 0:
        return config.max_steps, math.ceil(config.max_steps * config.grad_accumulation / micro_per_epoch)
    return max(1, (micro_per_epoch * config.epochs) // config.grad_accumulation), config.epochs


def _nnz(v: torch.Tensor) -> float:
    return float((v.detach() > 0).sum(dim=1).float().mean())


def train(config: TrainingConfig) -> Path:
    """Train a LACONIC encoder; return the run directory (``final/`` holds the result).

    Args:
        config: a resolved :class:`TrainingConfig` (see ``resolve_config`` and the presets).

    Returns:
        ``Path(config.output_dir)``. ``final/`` (like every checkpoint) is an
        encoder: ``SparseEncoder.from_pretrained``, ``laconic eval`` and
        ``laconic serve`` read it; ``laconic merge`` folds a LoRA adapter into the weights.

    Example:
        >>> from laconic.training import resolve_config, train
        >>> cfg = resolve_config("laconic-1b-phase2", overrides={"model": "runs/p1-merged",
        ...                      "train_data": "train.jsonl", "output_dir": "runs/p2"})
        >>> train(cfg)  # doctest: +SKIP
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import set_seed

    config.validate()
    out = Path(config.output_dir)
    precision = resolve_precision(config.mixed_precision)
    fsdp = take_fsdp_request()  # laconic shards (training/sharding.py); accelerate only starts the processes
    # accelerate keeps one process-wide state; a second run in the same process (a sweep, a notebook) may
    # choose another precision. Its process group (PartialState) is kept.
    AcceleratorState._reset_state()
    accelerator = Accelerator(mixed_precision=precision, cpu=not torch.cuda.is_available())
    check_setup(config, accelerator, precision)
    main = accelerator.is_main_process
    if not config.resume and ckpt.latest_checkpoint(out) is not None:
        raise ConfigError(f"{out} already holds checkpoints: pass --resume to continue, or pick another --output-dir")
    set_seed(config.seed)  # the same LoRA initialisation on every rank (FSDP broadcasts nothing)

    # Data: rows stay on disk; the plan fixes which rows form each batch.
    records = open_records(config.train_data, config.train_split)
    per_epoch = len(records) // (config.batch_size * accelerator.num_processes)
    if per_epoch == 0:
        raise ConfigError(f"{len(records)} training rows < one global batch "
                          f"({config.batch_size} x {accelerator.num_processes} processes)")
    total_steps, plan_epochs = _total_steps(config, per_epoch)
    plan = BatchPlan(len(records), config.batch_size, accelerator.num_processes,
                     accelerator.process_index, config.seed, plan_epochs)

    # Model: the weights being trained are fp32 (autocast computes in bf16/fp16); a frozen
    # LoRA backbone may stay in bf16 outside FSDP, which wants one dtype per shard group.
    frozen_bf16 = config.lora and precision == "bf16" and fsdp is None
    encoder = load_encoder(config, device=accelerator.device, dtype=torch.bfloat16 if frozen_bf16 else torch.float32)
    encoder.config.pooling_chunk_size = config.pooling_chunk_size  # 0: all columns at once
    peft_model = attach_lora(encoder, config) if config.lora else None
    if config.gradient_checkpointing:
        encoder.model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    encoder.train()
    set_seed(config.seed, device_specific=True)  # from here on each rank draws its own dropout masks
    if fsdp is not None:  # before the optimiser: sharding swaps in new (DTensor) parameters
        model = shard_encoder(encoder, fsdp, precision)
        no_sync = functools.partial(no_gradient_sync, model)
    params = [p for p in encoder.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = make_lr_scheduler(optimizer, total_steps, config.warmup_ratio, config.schedule)
    if fsdp is not None:
        optimizer = accelerator.prepare(optimizer)
    else:
        model, optimizer = accelerator.prepare(encoder, optimizer)  # DDP-wrapped when several processes
        no_sync = functools.partial(accelerator.no_sync, model)

    step = 0
    last = ckpt.latest_checkpoint(out) if config.resume else None
    if last is not None:
        state = ckpt.load_checkpoint(last)
        if state.world_size != accelerator.num_processes:
            raise ConfigError(f"{last} was written by {state.world_size} processes, this run has "
                              f"{accelerator.num_processes}: the data order and random streams would differ; "
                              "resume with the same number of processes")
        dist_state.load_full_state(model, optimizer, state.trainable, state.optimizer)
        scheduler.load_state_dict(state.scheduler)
        if state.scaler is not None and accelerator.scaler is not None:
            accelerator.scaler.load_state_dict(state.scaler)
        dist_state.set_rng_state(state.rng[accelerator.process_index])
        step, plan.start = state.step, state.micro_step
        accelerator.print(f"resuming from {last} (step {step})")
    if main:
        config.save(out)
        if last is not None:  # drop metrics logged after the checkpoint we resume from
            kept = [r for r in read_metrics(out) if r["step"] <= step] if (out / "metrics.jsonl").is_file() else []
            atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in kept))
    top_k = config.train_top_k or None
    first_step = step

    def embed(inputs: dict[str, torch.Tensor]) -> torch.Tensor:  # (rows, L) -> (rows, V), fp32
        with accelerator.autocast():
            vectors = model(inputs["input_ids"].to(accelerator.device), inputs["attention_mask"].to(accelerator.device),
                            top_k=top_k)
        return vectors.float()

    def save() -> None:
        _save(accelerator, out, model, encoder, optimizer, scheduler, step, micro, config, peft_model)

    # workers must not create device tensors: they tokenise on CPU and the loop moves the batch
    tokenize = CpuTokenize(encoder.tokenizer, encoder.profile) if config.num_workers > 0 else encoder.tokenize
    collator = GroupCollator(tokenize, config.query_max_length, config.document_max_length)
    loader = torch.utils.data.DataLoader(
        GroupDataset(records, config.passages_per_query, config.seed), batch_sampler=plan,
        collate_fn=collator, num_workers=config.num_workers,
        generator=torch.Generator().manual_seed(config.seed),  # never draw from the global RNG (exact resume)
    )
    logger = MetricsLogger(out, config.report_to, config.to_dict(), append=last is not None) if main else None
    bar = None
    if main and config.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total_steps, initial=step, desc="train", unit="step")

    micro = plan.start
    window = {"loss": 0.0, "ranking": 0.0, "flops_q": 0.0, "flops_d": 0.0, "nnz_q": 0.0, "nnz_d": 0.0, "tokens": 0, "samples": 0}
    t0 = time.perf_counter()
    for batch in loader:
        if step >= total_steps:
            break
        micro += 1
        lam_q = lambda_at(step, config.lambda_q, config.lambda_warmup_steps)
        lam_d = lambda_at(step, config.lambda_d, config.lambda_warmup_steps)
        loss_fn = functools.partial(laconic_loss, lambda_q=lam_q, lambda_d=lam_d, temperature=config.temperature)
        boundary = micro % config.grad_accumulation == 0
        with contextlib.nullcontext() if boundary else no_sync():
            if config.gradcache:
                parts, qv, pv = gradcache_step(embed, batch["q"], batch["p"], loss_fn, chunk_size=config.gradcache_chunk_size,
                                               scale=1.0 / config.grad_accumulation, no_sync=no_sync,
                                               backward=accelerator.backward)
            else:
                qv, pv = embed(batch["q"]), embed(batch["p"])  # (B, V), (B*n, V)
                parts = loss_fn(qv, pv)
                accelerator.backward(parts.total / config.grad_accumulation)
        window["loss"] += parts.ranking + lam_q * parts.flops_q + lam_d * parts.flops_d
        window["ranking"] += parts.ranking
        window["flops_q"] += parts.flops_q
        window["flops_d"] += parts.flops_d
        window["nnz_q"] += _nnz(qv)
        window["nnz_d"] += _nnz(pv)
        window["tokens"] += batch["tokens"]
        window["samples"] += qv.shape[0]
        if not boundary:
            continue

        if config.max_grad_norm > 0:
            accelerator.clip_grad_norm_(params, config.max_grad_norm)
        lr = optimizer.param_groups[0]["lr"]  # the rate this step used
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        if step == first_step + 1:
            _write_shard_report(accelerator, out, model, optimizer, precision, fsdp is not None)

        if logger is not None and step % config.log_every == 0:
            elapsed = max(time.perf_counter() - t0, 1e-9)
            n = config.grad_accumulation
            record = {k: window[k] / n for k in ("loss", "ranking", "flops_q", "flops_d", "nnz_q", "nnz_d")}
            record.update(lambda_q=lam_q, lambda_d=lam_d, lr=lr,
                          samples_per_s=window["samples"] * accelerator.num_processes / elapsed,
                          tokens_per_s=window["tokens"] * accelerator.num_processes / elapsed,
                          epoch=(micro - 1) // plan.per_epoch)
            logger.log(step, record)
            if bar is not None:
                bar.set_postfix(loss=f"{record['loss']:.3f}", nnz_q=f"{record['nnz_q']:.0f}", nnz_d=f"{record['nnz_d']:.0f}")
        if bar is not None:
            bar.update(1)
        window = dict.fromkeys(window, 0.0)
        if config.save_every > 0 and step % config.save_every == 0 and step < total_steps:
            save()
        t0 = time.perf_counter()  # throughput excludes checkpoint writes

    if bar is not None:
        bar.close()
    save()
    if main:
        ckpt.link_encoder_files(ckpt.latest_checkpoint(out), out / "final")
        logger.close()
    accelerator.wait_for_everyone()
    return out


def resolve_precision(setting: str) -> str:
    """``auto``: bf16 autocast where CUDA is, none on CPU (slow there without AMX units)."""
    if setting == "auto":
        return "bf16" if torch.cuda.is_available() else "no"
    return setting


def check_setup(config: TrainingConfig, accelerator, precision: str) -> None:
    """Refuse combinations that would train silently wrong."""
    if precision == "fp16" and accelerator.scaler is None and accelerator.distributed_type != DistributedType.DEEPSPEED:
        raise ConfigError("mixed_precision fp16 needs a CUDA device (accelerate has no loss scaler here; "
                          "fp16 without one underflows): use --mixed-precision bf16 or no")
    if config.gradcache and accelerator.distributed_type == DistributedType.DEEPSPEED:
        raise ConfigError("gradcache replays chunks with plain backward(), which bypasses DeepSpeed's engine; "
                          "use DDP or FSDP with --gradcache, or DeepSpeed without it")


def _save(accelerator, out, model, encoder, optimizer, scheduler, step, micro, config, peft_model) -> None:
    """Gather whole weights, optimiser state and every rank's RNG (all ranks), then write (main process)."""
    accelerator.wait_for_everyone()
    lora = peft_model is not None
    trainable = dist_state.full_trainable_state(model) if lora else None
    weights = None if lora else dist_state.full_model_state(model)
    optim_state = dist_state.full_optimizer_state(model, optimizer)
    rng = dist_state.all_rng_states()
    if accelerator.is_main_process:
        state = ckpt.TrainingState(step=step, micro_step=micro, optimizer=optim_state, scheduler=scheduler.state_dict(),
                                   rng=rng, config=config.to_dict(), trainable=trainable,
                                   scaler=accelerator.scaler.state_dict() if accelerator.scaler is not None else None)
        if lora:
            def write(directory: Path) -> None:
                write_adapter(directory, encoder, peft_model, trainable)
        else:
            inner = {name.removeprefix("model."): value for name, value in weights.items()}

            def write(directory: Path) -> None:
                encoder.write_files(directory, state_dict=inner)
        ckpt.save_checkpoint(out, state, keep=config.keep_checkpoints, write_encoder=write)
    accelerator.wait_for_everyone()


def _write_shard_report(accelerator, out: Path, model, optimizer, precision: str, sharded: bool) -> None:
    """``distributed.json``: how the run is spread (all ranks measure, the main process writes)."""
    report = dist_state.shard_report(model, optimizer)
    if accelerator.is_main_process:
        kind = "FSDP" if sharded else str(accelerator.distributed_type.value)
        info = {"world_size": accelerator.num_processes, "distributed_type": kind,
                "mixed_precision": precision, **report}
        atomic_write_text(out / "distributed.json", json.dumps(info, indent=2) + "\n")
