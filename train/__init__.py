"""persian-stance training stack: data loading and checks, training, evaluation,
baselines and corpus tools, run through the ``persian-stance`` command
(``train/cli.py``). Never imported by the runtime (``persian_stance.infer``)."""
