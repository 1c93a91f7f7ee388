"""`rasa train` output as it reaches us through a pipe, shortened from a real run (DIET 4 epochs, TED 3).

Log lines end with a newline; tqdm redraws its bar after a carriage return and ends it with a newline
when the bar closes, so a whole DIET run is one long "line" of \\r-separated redraws.
"""

from __future__ import annotations

HOOKS = "INFO     rasa.engine.training.hooks  - "

PREPARING = (
    "/work/main/.venv/lib/python3.10/site-packages/rasa/shared/utils/validation.py:134: DeprecationWarning: "
    "pkg_resources is deprecated as an API.\n"
    "  import pkg_resources\n"
    "2026-12-06 08:50:14 INFO     rasa.cli.train  - Started validating domain and training data...\n"
    "2026-12-06 08:50:37 INFO     rasa.validator  - Validating intents...\n"
    "\x1b[93m/work/main/.venv/lib/python3.10/site-packages/rasa/shared/utils/io.py:100: UserWarning: "
    "The utterance 'utter_greet' is not used in any story or rule.\n"
    "\rProcessed story blocks:   0%|          | 0/3 [00:00<?, ?it/s]"
    "\rProcessed story blocks: 100%|██████████| 3/3 [00:00<00:00, 305.45it/s, # trackers=1]\n"
    "2026-12-06 08:50:37 INFO     rasa.validator  - No story structure conflicts found.\n"
)

FEATURISING = (
    f"\x1b[0m2026-12-06 08:50:59 {HOOKS}Starting to train component 'ChineseTokenizer'.\n"
    f"2026-12-06 08:51:01 {HOOKS}Finished training component 'ChineseTokenizer'.\n"
    f"2026-12-06 08:51:03 {HOOKS}Starting to train component 'CountVectorsFeaturizer'.\n"
    "2026-12-06 08:51:03 INFO     rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer  - "
    "4120 vocabulary items were created for text attribute.\n"
    f"2026-12-06 08:51:03 {HOOKS}Finished training component 'CountVectorsFeaturizer'.\n"
    f"2026-12-06 08:51:10 {HOOKS}Starting to train component 'CountVectorsFeaturizer'.\n"
    f"2026-12-06 08:51:10 {HOOKS}Finished training component 'CountVectorsFeaturizer'.\n"
    "2026-12-06 08:51:15 INFO     rasa.nlu.utils.spacy_utils  - "
    "Trying to load SpaCy model with name 'var/spacy/zh_complaints'.\n"
    f"2026-12-06 08:51:16 {HOOKS}Starting to train component 'PooledIntentClassifier'.\n"
    f"2026-12-06 08:51:18 {HOOKS}Finished training component 'PooledIntentClassifier'.\n"
)

DIET_START = f"2026-12-06 08:51:18 {HOOKS}Starting to train component 'ServingDIETClassifier'.\n"

# Up to and including the redraw that reports epoch `done` of DIET's 4.
DIET_EPOCHS = [
    "\x1b[0m\rEpochs:   0%|          | 0/4 [00:00<?, ?it/s]",
    "\rEpochs:  25%|██▌       | 1/4 [01:06<03:18, 66.08s/it]"
    "\rEpochs:  25%|██▌       | 1/4 [01:06<03:18, 66.08s/it, t_loss=6.49, i_acc=0.545, e_f1=0.0156]",
    "\rEpochs:  50%|█████     | 2/4 [01:19<01:10, 35.26s/it, t_loss=6.49, i_acc=0.545, e_f1=0.0156]"
    "\rEpochs:  50%|█████     | 2/4 [01:19<01:10, 35.26s/it, t_loss=4.04, i_acc=0.904, e_f1=0.58]  ",
    "\rEpochs:  75%|███████▌  | 3/4 [01:33<00:25, 25.30s/it, t_loss=4.04, i_acc=0.904, e_f1=0.58]"
    "\rEpochs:  75%|███████▌  | 3/4 [01:33<00:25, 25.30s/it, t_loss=3.53, i_acc=0.97, e_f1=0.743]",
    "\rEpochs: 100%|██████████| 4/4 [01:46<00:00, 26.60s/it, t_loss=3.53, i_acc=0.97, e_f1=0.743]"
    "\rEpochs: 100%|██████████| 4/4 [01:46<00:00, 26.60s/it, t_loss=3.1, i_acc=0.98, e_f1=0.81]\n",
]

POLICIES = (
    f"2026-12-06 08:53:05 {HOOKS}Finished training component 'ServingDIETClassifier'.\n"
    "\rProcessed trackers: 100%|██████████| 412/412 [00:01<00:00, 305.1it/s, # action=1180]\n"
    f"2026-12-06 08:53:07 {HOOKS}Starting to train component 'MemoizationPolicy'.\n"
    f"2026-12-06 08:53:07 {HOOKS}Finished training component 'MemoizationPolicy'.\n"
    f"2026-12-06 08:53:07 {HOOKS}Starting to train component 'RulePolicy'.\n"
    f"2026-12-06 08:53:08 {HOOKS}Finished training component 'RulePolicy'.\n"
    f"2026-12-06 08:53:08 {HOOKS}Starting to train component 'MemoizedTEDPolicy'.\n"
    "\rEpochs:   0%|          | 0/3 [00:00<?, ?it/s]"
    "\rEpochs:  33%|███▎      | 1/3 [00:07<00:14,  7.23s/it, t_loss=16.9, loss=16.8, acc=0.145]"
    "\rEpochs:  67%|██████▋   | 2/3 [00:08<00:01,  1.92s/it, t_loss=12.2, loss=12, acc=0.0727]"
    "\rEpochs: 100%|██████████| 3/3 [00:09<00:00,  1.50s/it, t_loss=8.31, loss=8.14, acc=0.109]\n"
    f"2026-12-06 08:53:18 {HOOKS}Finished training component 'MemoizedTEDPolicy'.\n"
)

SAVED = "\x1b[92mYour Rasa model is trained and saved at 'models/complaints.tar.gz'.\x1b[0m\n"

TRAINED = PREPARING + FEATURISING + DIET_START + "".join(DIET_EPOCHS) + POLICIES + SAVED

# A run that dies in DIET's second epoch (what a bad config or too little memory looks like).
FAILED = (
    PREPARING
    + FEATURISING
    + DIET_START
    + "".join(DIET_EPOCHS[:2])
    + "\nTraceback (most recent call last):\n"
    + '  File "/work/main/.venv/lib/python3.10/site-packages/rasa/engine/graph.py", line 526, in __call__\n'
    + "    output = self._fn(self._component, **run_kwargs)\n"
    + "rasa.engine.exceptions.GraphComponentException: Error running graph component for node "
    + "train_ServingDIETClassifier5.\n"
)

# The second run after a change to the stories only: the NLU components come from Rasa's cache.
RESTORED = (
    PREPARING
    + f"2026-12-06 09:10:01 {HOOKS}Restored component 'ChineseTokenizer' from cache.\n"
    + f"2026-12-06 09:10:01 {HOOKS}Restored component 'CountVectorsFeaturizer' from cache.\n"
    + f"2026-12-06 09:10:01 {HOOKS}Restored component 'CountVectorsFeaturizer' from cache.\n"
    + f"2026-12-06 09:10:01 {HOOKS}Restored component 'PooledIntentClassifier' from cache.\n"
    + f"2026-12-06 09:10:01 {HOOKS}Restored component 'ServingDIETClassifier' from cache.\n"
    + f"2026-12-06 09:10:02 {HOOKS}Starting to train component 'MemoizedTEDPolicy'.\n"
)
