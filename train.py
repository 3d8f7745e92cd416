"""Train the tfface encoder: ``python train.py --config configs/<recipe>.yaml``.

Re-running the same command resumes from the last checkpoint in the
config's ``output_dir`` (also after a kill). ``--override key.sub=value``
changes single settings, e.g. ``--override schedule.steps=50``.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="YAML recipe (see configs/)")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--init-weights", help="local backbone weights (model.init_weights)")
    parser.add_argument("--init-encoder", metavar="ENCODER",
                        help="fine-tune: start from this trained encoder.keras, or 'default' for "
                             "the shipped one (model.init_encoder)")
    parser.add_argument("--overwrite", action="store_true",
                        help="train into an output_dir that holds other files")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="a line every schedule.log_every steps instead of a progress bar "
                             "(for the log file of a background run)")
    args = parser.parse_args(argv)

    from tfface.config import load_config  # validates before TensorFlow starts
    from tfface.errors import TfFaceError
    overrides = list(args.override)
    if args.init_weights:
        overrides.append(f"model.init_weights={args.init_weights}")
    if args.init_encoder:
        overrides.append(f"model.init_encoder={args.init_encoder}")
    try:
        config = load_config(args.config, overrides)
        from tfface.training import loss_summary, train
        logs = train(config, overwrite=args.overwrite, progress=args.progress)
    except TfFaceError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return error.exit_code
    print(f"final {loss_summary(logs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
