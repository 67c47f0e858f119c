"""``laconic train`` that dies right after the checkpoint of step ``CRASH_AFTER_STEP``, on every rank.

``os._exit`` ends the process on the spot, as a kill would: no ``finally``, no
``final/``, no clean shutdown of the process group. Launched by the tests in
place of ``-m laconic``.
"""

import os

import laconic.training.loop as loop
from laconic.cli.main import main

CRASH_AFTER = int(os.environ["CRASH_AFTER_STEP"])
_real_save = loop._save


def _save_then_die(accelerator, out, model, encoder, optimizer, scheduler, step, *rest):
    _real_save(accelerator, out, model, encoder, optimizer, scheduler, step, *rest)
    if step == CRASH_AFTER:
        os._exit(17)


loop._save = _save_then_die
main()
