from bot.training.output import Epoch, Finished, OutputReader, Started, log_tail, read_event
from tests.bot.training.rasa_output import FAILED, TRAINED


def events(text: str, chunk: int = 7):
    """The events in `text`, delivered in small chunks that split lines and multi-byte characters."""
    data, reader = text.encode(), OutputReader()
    return [event for i in range(0, len(data), chunk) for event in reader.feed(data[i : i + chunk])] + reader.close()


def test_a_whole_run_reads_as_components_and_epochs():
    got = events(TRAINED)
    components = [event for event in got if not isinstance(event, Epoch)]
    assert components == [
        Started("ChineseTokenizer"),
        Finished("ChineseTokenizer"),
        Started("CountVectorsFeaturizer"),
        Finished("CountVectorsFeaturizer"),
        Started("CountVectorsFeaturizer"),
        Finished("CountVectorsFeaturizer"),
        Started("PooledIntentClassifier"),
        Finished("PooledIntentClassifier"),
        Started("ServingDIETClassifier"),
        Finished("ServingDIETClassifier"),
        Started("MemoizationPolicy"),
        Finished("MemoizationPolicy"),
        Started("RulePolicy"),
        Finished("RulePolicy"),
        Started("MemoizedTEDPolicy"),
        Finished("MemoizedTEDPolicy"),
    ]
    epochs = [event for event in got if isinstance(event, Epoch)]
    # Every redraw is an event (the postfix redraws repeat the count); other bars are not epochs.
    assert sorted({(e.done, e.total) for e in epochs}) == [
        (0, 3),
        (0, 4),
        (1, 3),
        (1, 4),
        (2, 3),
        (2, 4),
        (3, 3),
        (3, 4),
        (4, 4),
    ]
    assert epochs[0] == Epoch(0, 4) and epochs[-1] == Epoch(3, 3)


def test_a_component_from_the_cache_reads_as_restored():
    line = "2026-12-06 09:10:01 INFO     rasa.engine.training.hooks  - Restored component 'RulePolicy' from cache."
    assert read_event(line) == Finished("RulePolicy", restored=True)
    assert read_event("Processed trackers: 100%|██████████| 412/412 [00:01<00:00]") is None


def test_the_log_tail_shows_each_bar_as_it_was_left(tmp_path):
    log = tmp_path / "training.log"
    log.write_text(FAILED, encoding="utf-8")
    tail = log_tail(log, lines=5)
    assert tail[0].startswith("Epochs:  25%") and tail[0].endswith("e_f1=0.0156]")  # the last redraw only
    assert tail[-1].startswith("rasa.engine.exceptions.GraphComponentException")
    assert not any("\x1b" in line or "\r" in line for line in tail)
