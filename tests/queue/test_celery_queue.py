"""The API node's side of the Celery queue: publishing, and the broker's health."""

from __future__ import annotations

import pytest

from backdrop.errors import ServiceUnavailable
from backdrop.queue.celery_queue import CeleryQueue
from backdrop.settings import QueueSettings
from tests.infra import BROKERS, free_port, unique


@pytest.mark.parametrize("broker", ["rabbitmq", "redis"])
def test_a_published_id_waits_on_the_broker(broker: str) -> None:
    name = unique("bd-q")
    queue = CeleryQueue(QueueSettings(backend="celery", broker_url=BROKERS[broker], name=name))
    try:
        assert queue.alive
        queue.submit("order-1")
        with queue._app.connection() as connection:
            message = connection.SimpleQueue(name, no_ack=True).get(timeout=5)
            assert message.headers["task"] == "backdrop.run_order"
            assert message.payload[0] == ["order-1"]  # (args, kwargs, embed)
            connection.default_channel.queue_delete(name)
    finally:
        queue.stop()


def test_an_unreachable_broker_is_unhealthy_and_refuses_orders() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    queue = CeleryQueue(QueueSettings(backend="celery", broker_url=url, name=unique("bd-q")))
    try:
        assert not queue.alive
        with pytest.raises(ServiceUnavailable, match="unreachable"):
            queue.submit("order-1")
    finally:
        queue.stop()
