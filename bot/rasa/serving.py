"""Rasa's TensorFlow models (DIET, TED) loaded to serve, not to train.

Rasa's `RasaModel.load` builds a model's weights by running one training step
(`fit` on one example) before it restores the trained values, and the process
keeps the traced training graph, gradients and optimizer included, which
serving never runs. Here the weights are built by one eager pass of the
model's loss, which creates the same variables and traces nothing; the trained
values are then restored, and every variable of the model must be matched by
the checkpoint. Fine-tuning (`rasa train --finetune`) continues from the
optimizer's state, so it keeps Rasa's own load. Memory saved:
docs/benchmark.md, "Why the Rasa overrides exist".
"""

from __future__ import annotations

from typing import Any, Optional, Text, cast

from rasa.core.policies.ted_policy import TED
from rasa.nlu.classifiers.diet_classifier import DIET
from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel


class ServingLoad:
    """Mixin for a `RasaModel` subclass (list it first among the bases)."""

    @classmethod
    def load(
        cls,
        model_file_name: Text,
        model_data_example: RasaModelData,
        predict_data_example: Optional[RasaModelData] = None,
        finetune_mode: bool = False,
        *args: Any,
        **kwargs: Any,
    ) -> RasaModel:
        if finetune_mode:
            return super().load(  # type: ignore[misc]
                model_file_name,
                model_data_example,
                predict_data_example,
                finetune_mode,
                *args,
                **kwargs,
            )
        # The mixin is listed first among a RasaModel subclass's bases: cls is that subclass.
        model = cast(RasaModel, cls(*args, **kwargs))
        batch, _ = RasaBatchDataGenerator(model_data_example, batch_size=1)[0]
        # The loss path reaches every layer, as the training step would.
        model._training = True
        model.batch_loss(batch)
        model._training = False
        status = model.load_weights(model_file_name)
        # The checkpoint also holds the optimizer's state, which is not wanted.
        status.assert_existing_objects_matched().expect_partial()
        if predict_data_example:
            # Trace prediction now rather than on the first user's turn.
            model.run_inference(predict_data_example)
        if model._tf_predict_step is not None:
            # Call that trace directly: with one fixed input signature, tf.function's
            # per-call matching of inputs to traces only costs time (about 1 ms a parse).
            model._tf_predict_step = model._tf_predict_step.get_concrete_function()
        return model


class ServingDIET(ServingLoad, DIET):
    pass


class ServingTED(ServingLoad, TED):
    pass
