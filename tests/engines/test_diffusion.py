"""The diffusion engine, run for real on a tiny randomly initialised inpainting pipeline.

The pipeline is built from small configs (and a hand-written CLIP vocabulary), saved with
`save_pretrained` and loaded back through the engine's own loading code with
`local_files_only=True`, so loading, inference and compositing are all exercised offline on CPU.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    StableDiffusionInpaintPipeline,
    UNet2DConditionModel,
)
from PIL import Image
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from backdrop.engines.diffusion import (
    MISSING_EXTRA,
    MODEL_SETTING,
    DiffusionGenerator,
    inpaint_mask,
    working_size,
)
from backdrop.engines.generation import GenerationRequest
from backdrop.engines.generators import create_generator
from backdrop.errors import WeightsUnavailable
from backdrop.kinds import GenerationEngine
from backdrop.settings import DiffusionSettings, GenerationSettings
from tests.engines.generation_contract import GenerationContract, pixels, subject_request

TEXT_WIDTH = 16  # the text encoder's hidden size = the UNet's cross-attention size
MAX_TOKENS = 16


def write_tiny_clip_vocab(folder: Path) -> None:
    """A byte-level BPE vocabulary of single letters and a few merges, in CLIP's file format."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for letter in letters:
        vocab[letter] = len(vocab)
    for letter in letters:
        vocab[f"{letter}</w>"] = len(vocab)
    merges = ["s t", "st u", "stu d", "i o</w>", "stud io</w>"]
    for merge in merges:
        vocab.setdefault(merge.replace(" ", ""), len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")


def build_tiny_inpainting_pipeline(workdir: Path) -> StableDiffusionInpaintPipeline:
    """An SD inpainting pipeline with random weights: 9-channel UNet, 2-block VAE, tiny CLIP."""
    write_tiny_clip_vocab(workdir / "vocab")
    tokenizer = CLIPTokenizer.from_pretrained(workdir / "vocab", model_max_length=MAX_TOKENS)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=32,
        in_channels=9,  # noisy latents + mask + masked-image latents
        out_channels=4,
        block_out_channels=(16, 32),
        layers_per_block=1,
        norm_num_groups=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        attention_head_dim=4,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(16, 32),
        layers_per_block=1,
        norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        sample_size=64,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=TEXT_WIDTH,
            intermediate_size=32,
            num_attention_heads=2,
            num_hidden_layers=2,
            max_position_embeddings=MAX_TOKENS,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return StableDiffusionInpaintPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny pipeline, saved as an operator's local model folder would be."""
    workdir = tmp_path_factory.mktemp("tiny-inpainting")
    build_tiny_inpainting_pipeline(workdir).save_pretrained(workdir / "pipeline")
    return workdir / "pipeline"


def tiny_settings(model_dir: Path, **changes: Any) -> DiffusionSettings:
    return DiffusionSettings(
        model=str(model_dir), local_files_only=True, device="cpu", steps=2, **changes
    )


@pytest.fixture(scope="module")
def tiny_generator(tiny_model_dir: Path) -> DiffusionGenerator:
    """The engine over the tiny pipeline, loaded once through its real loading code."""
    engine = DiffusionGenerator(tiny_settings(tiny_model_dir))
    engine.load()
    return engine


class TestDiffusionContract(GenerationContract):
    @pytest.fixture
    def generator(self, tiny_generator: DiffusionGenerator) -> DiffusionGenerator:
        return tiny_generator


# -- loading -------------------------------------------------------------------------------


def test_the_factory_builds_it_and_it_loads_the_saved_pipeline(tiny_model_dir: Path) -> None:
    settings = GenerationSettings(
        engine=GenerationEngine.DIFFUSION, diffusion=tiny_settings(tiny_model_dir)
    )
    engine = create_generator(GenerationEngine.DIFFUSION, settings)
    assert isinstance(engine, DiffusionGenerator)
    assert engine.engine_id == "diffusion"
    assert not engine.loaded
    engine.check()  # cheap: nothing is loaded yet
    assert not engine.loaded
    pipeline: Any = engine.load()
    # The class named in model_index.json, on the configured device, in fp32 off CUDA.
    assert type(pipeline).__name__ == "StableDiffusionInpaintPipeline"
    assert pipeline.device.type == "cpu"
    assert pipeline.unet.dtype == torch.float32
    engine.unload()
    assert not engine.loaded


def test_generate_loads_on_first_use(tiny_model_dir: Path) -> None:
    engine = DiffusionGenerator(tiny_settings(tiny_model_dir))
    result = engine.generate(subject_request((64, 64)))
    assert engine.loaded
    assert result.size == (64, 64)


def test_a_missing_folder_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    engine = DiffusionGenerator(tiny_settings(tmp_path / "sdxl-inpainting"))
    for start in (engine.check, engine.load):
        with pytest.raises(WeightsUnavailable) as caught:
            start()
        detail = caught.value.detail
        assert str(tmp_path / "sdxl-inpainting") in detail
        assert "does not exist" in detail
        assert MODEL_SETTING in detail
    assert caught.value.http_status == 503


def test_a_folder_that_is_no_pipeline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailable, match=r"no model_index\.json"):
        DiffusionGenerator(tiny_settings(tmp_path)).load()


def test_a_folder_holding_no_inpainting_pipeline_is_refused(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "NoSuchPipeline"}))
    with pytest.raises(WeightsUnavailable, match="is no inpainting pipeline"):
        DiffusionGenerator(tiny_settings(tmp_path)).load()


def test_a_model_id_missing_from_the_cache_names_the_download(tmp_path: Path) -> None:
    model = "backdrop-tests/no-such-inpainting-model"
    engine = DiffusionGenerator(DiffusionSettings(model=model, local_files_only=True))
    with pytest.raises(WeightsUnavailable) as caught:
        engine.check()
    detail = caught.value.detail
    assert f"`hf download {model}`" in detail
    assert MODEL_SETTING in detail
    assert "save_pretrained" in detail


def test_without_the_extra_it_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "diffusers", None)  # `import diffusers` now fails
    engine = DiffusionGenerator(DiffusionSettings())
    with pytest.raises(WeightsUnavailable) as caught:
        engine.check()
    assert caught.value.detail == MISSING_EXTRA
    assert "pip install backdrop[diffusion]" in MISSING_EXTRA


# -- generation with the real tiny pipeline ------------------------------------------------


def test_soft_subject_edges_are_blended_over_the_new_background(
    tiny_generator: DiffusionGenerator,
) -> None:
    request = subject_request((64, 64))
    result = pixels(tiny_generator.generate(request)).astype(np.int16)
    edge = request.alpha == 128
    original = pixels(request.image).astype(np.int16)[edge]
    # Half subject, half new background: close to neither the photo nor a pure copy of it.
    assert np.abs(result[edge] - original).max() > 0
    assert np.abs(result[edge] - original).max() <= 128


def test_the_negative_prompt_is_used(tiny_generator: DiffusionGenerator) -> None:
    plain = subject_request((64, 64), prompt="studio")
    avoided = GenerationRequest(
        image=plain.image,
        alpha=plain.alpha,
        prompt="studio",
        seed=plain.seed,
        negative_prompt="dark",
    )
    assert tiny_generator.generate(plain).tobytes() != tiny_generator.generate(avoided).tobytes()


# -- the pieces around the pipeline, with a recording fake ---------------------------------


class RecordingPipeline:
    """Answers like a diffusers inpainting pipeline (grey), and remembers how it was called."""

    def __init__(self, sample_size: int = 128, vae_scale_factor: int = 8) -> None:
        self.vae_scale_factor = vae_scale_factor
        config = SimpleNamespace(sample_size=sample_size, block_out_channels=(320, 640, 1280))
        self.unet = SimpleNamespace(config=config)
        self.device = torch.device("cpu")
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> SimpleNamespace:
        self.calls.append(kwargs)
        size = (kwargs["width"], kwargs["height"])
        return SimpleNamespace(images=[Image.new("RGB", size, (128, 128, 128))])


def test_the_settings_and_request_reach_the_pipeline() -> None:
    fake = RecordingPipeline()
    settings = DiffusionSettings(steps=12, guidance=5.0, strength=0.8, mask_dilation=6)
    engine = DiffusionGenerator(settings, pipeline=fake)
    request = subject_request((2000, 1000), prompt="a beach at dawn", seed=None)
    request = GenerationRequest(
        image=request.image, alpha=request.alpha, prompt=request.prompt, negative_prompt="people"
    )
    result = engine.generate(request)
    assert result.size == (2000, 1000)
    (call,) = fake.calls
    # SDXL-like: native 128 latents x 8 = 1024 px on the long side, multiples of 8 x 4 blocks.
    assert (call["width"], call["height"]) == (1024, 512)
    assert call["image"].size == call["mask_image"].size == (1024, 512)
    assert call["prompt"] == "a beach at dawn"
    assert call["negative_prompt"] == "people"
    assert call["num_inference_steps"] == 12
    assert call["guidance_scale"] == 5.0
    assert call["strength"] == 0.8
    # No seed: the prompt decides it, so the same request paints the same background.
    assert call["generator"].initial_seed() == zlib.crc32(b"a beach at dawn")
    # The subject's middle is kept; the rest of the photo is repainted.
    mask = np.asarray(call["mask_image"])
    assert mask[256, 512] == 0
    assert mask[10, 10] == 255


def test_the_working_size_keeps_the_aspect_and_the_multiple() -> None:
    assert working_size((4000, 3000), 1024, 32) == (1024, 768)
    assert working_size((3000, 4000), 1024, 32) == (768, 1024)
    assert working_size((70, 50), 64, 8) == (64, 48)
    assert working_size((5000, 20), 1024, 32) == (1024, 32)  # never a zero side


def test_the_repainted_area_grows_into_the_subject_edges() -> None:
    alpha = np.zeros((40, 40), dtype=np.uint8)
    alpha[10:30, 10:30] = 255
    exact = np.asarray(inpaint_mask(alpha, (40, 40), grow=0))
    grown = np.asarray(inpaint_mask(alpha, (40, 40), grow=3))
    assert exact[10:30, 10:30].max() == 0 and exact[:10].min() == 255
    assert grown[12, 20] == 255  # within 3 px of the subject's edge: repainted
    assert grown[13:27, 13:27].max() == 0  # the subject's core: kept as context
    assert grown[:10].min() == 255
