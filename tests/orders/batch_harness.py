"""A batching worker in the test process on SQLite, local files and a tiny test-made model.

The orders are created as the desk creates them; `run_all` feeds their ids to the runner from
as many threads as a Celery worker would run (serving/batch_worker.threads_for).
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from backdrop.db.models import ApiKey, Order
from backdrop.engines.batch_model import BatchModel, Recipe
from backdrop.engines.segmentation import OnnxSegmenter
from backdrop.kinds import Operation
from backdrop.orders.batch_runner import BatchConfig, BatchRunner
from backdrop.orders.lifecycle import Lifecycle
from backdrop.orders.params import RemovalParams
from backdrop.orders.runner import OrderRunner
from backdrop.serving.batch_worker import threads_for
from backdrop.serving.node import EmbeddedNode, build_node
from backdrop.settings import QueueSettings, Settings
from tests.engines.tiny_onnx import write_tiny_model

MODEL_SIZE = 320  # the u2net preset's input size


def tiny_settings(root: Path, lease_seconds: float = 30.0) -> Settings:
    models = root / "models"
    models.mkdir(parents=True, exist_ok=True)
    write_tiny_model(models / "tiny.onnx", MODEL_SIZE)
    config = models / "models.json"
    config.write_text(
        json.dumps({"tiny": {"preset": "u2net", "path": "tiny.onnx", "license": "test"}})
    )
    return Settings(
        data_dir=root / "data",
        public_url=None,
        database_url=None,
        models_dir=models,
        models_config=config,
        segmentation_model="tiny",
        queue=QueueSettings(lease_seconds=lease_seconds),
    )


def spawned_stages(processes: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))


@dataclass
class Harness:
    node: EmbeddedNode
    runner: BatchRunner
    key_id: str

    def order(self, data: bytes, content_type: str = "image/jpeg") -> str:
        key = f"uploads/{len(self.orders())}-{id(data)}.img"
        self.node.store.write(key, data, content_type)
        view = self.node.lifecycle.create(
            self.key_id, Operation.REMOVE_BACKGROUND, key, RemovalParams()
        )
        return view.id

    def orders(self) -> list[Order]:
        with self.node.db.unit_of_work() as session:
            return list(session.scalars(select(Order)).all())

    def row(self, order_id: str) -> Order:
        with self.node.db.unit_of_work() as session:
            order = session.scalar(
                select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
            )
            assert order is not None
            return order

    def credits(self) -> int:
        with self.node.db.unit_of_work() as session:
            key = session.get(ApiKey, self.key_id)
            assert key is not None
            return key.credit_cents

    def run_all(self, order_ids: Sequence[str]) -> list[bool]:
        config = self.runner.config
        threads = threads_for(config.batch, self.runner.processes, config.other_slots)
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(self.runner.run, order_ids))


@contextmanager
def harness(
    settings: Settings,
    *,
    batch: int = 4,
    max_wait_ms: float = 50.0,
    processes: int = 1,
    model: BatchModel | None = None,
    stages: Executor | None = None,
    credits: float = 1000,
    cuda: bool = False,
) -> Iterator[Harness]:
    node = build_node(settings)
    assert isinstance(node, EmbeddedNode)
    segmenter = node.segmenters.get()
    assert isinstance(segmenter, OnnxSegmenter) and segmenter.model_path is not None
    recipe = Recipe.of(segmenter)
    model = model or BatchModel.open(segmenter.model_path, recipe, settings.inference, cuda=cuda)
    config = BatchConfig(
        batch=batch,
        max_wait_seconds=max_wait_ms / 1000,
        max_pixels=settings.limits.max_pixels,
        direct_uploads=node.store.direct_uploads,
        model_id=segmenter.model_id,
    )
    runner = BatchRunner(
        OrderRunner(node.db, node.store, settings, node.segmenters),
        Lifecycle(node.db, settings),
        model,
        recipe,
        stages or spawned_stages(processes),
        config,
        lease_seconds=settings.queue.lease_seconds,
    )
    runner.processes = processes
    runner.start()
    key_id = node.keys.create("batch", credits).info.id
    try:
        yield Harness(node, runner, key_id)
    finally:
        runner.stop()
        node.db.dispose()
