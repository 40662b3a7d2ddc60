"""Running a flow: blocking for `Client`, awaited for `AsyncClient`. Only I/O lives here."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from backdrop.client.steps import Conversation, Flow, Offload, Send, Sleep, Step

T = TypeVar("T")


def run_blocking(flow: Flow[T], http: httpx.Client, sleep: Callable[[float], object]) -> T:
    conversation = Conversation(flow)
    while (step := conversation.step()) is not None:
        conversation.reply(_perform(step, http, sleep))
    return conversation.result


async def run_async(
    flow: Flow[T], http: httpx.AsyncClient, sleep: Callable[[float], Awaitable[object]]
) -> T:
    conversation = Conversation(flow)
    while (step := conversation.step()) is not None:
        conversation.reply(await _perform_async(step, http, sleep))
    return conversation.result


def _perform(step: Step, http: httpx.Client, sleep: Callable[[float], object]) -> object:
    match step:
        case Sleep(seconds):
            return sleep(seconds)
        case Offload(call):
            return call()
        case Send():
            try:
                return step.via(http.request)
            except httpx.TransportError as error:
                return error  # whether to try again is the flow's decision


async def _perform_async(
    step: Step, http: httpx.AsyncClient, sleep: Callable[[float], Awaitable[object]]
) -> object:
    match step:
        case Sleep(seconds):
            return await sleep(seconds)
        case Offload(call):
            return await asyncio.to_thread(call)
        case Send():
            try:
                return await step.via(http.request)
            except httpx.TransportError as error:
                return error
