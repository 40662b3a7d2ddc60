"""Diffusion inpainting: a new background painted around the subject by a diffusers pipeline.

For operators with a GPU and weights (`pip install backdrop[diffusion]`); the default model is
SDXL inpainting, any diffusers inpainting pipeline saved with `save_pretrained` works too.
The model repaints the inverted subject mask, grown a little into the subject's edges, at a size
it was trained for; the original subject pixels are then put back over the result at full
resolution, so the subject itself is never changed.

`DiffusionGenerator` follows the template of the segmentation engine: public `check()`,
`load()`, `unload()`, `describe()` (engines/engine.py) and `generate()`; `_load()` and
`_inpaint()` hold the model-specific parts.
torch and diffusers are imported where the pipeline is built or run, so importing this module
stays cheap and works without the extra.
"""

from __future__ import annotations

import math
import threading
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter

from backdrop.engines.engine import Lazy
from backdrop.engines.generation import GenerationRequest
from backdrop.errors import WeightsUnavailable
from backdrop.imaging.compose import Alpha, mask_image, on_image
from backdrop.kinds import GenerationEngine
from backdrop.settings import DiffusionSettings

MISSING_EXTRA = "the diffusion engine needs `pip install backdrop[diffusion]`"
MODEL_SETTING = "BACKDROP_GENERATION__DIFFUSION__MODEL"
# A subject pixel at least this opaque is kept out of the repainted area (before it is grown).
SUBJECT_THRESHOLD = 128


class DiffusionGenerator:
    """Inpaints a new background around the subject with a diffusers pipeline."""

    engine_id = GenerationEngine.DIFFUSION

    def __init__(self, settings: DiffusionSettings, *, pipeline: Any | None = None) -> None:
        self.settings = settings
        # A diffusers inpainting pipeline, or anything called the same way (tests inject one).
        self._pipeline: Lazy[Any] = Lazy(self._load, pipeline)
        # A pipeline keeps per-call state in its scheduler: one generation at a time.
        self._run_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._pipeline.value is not None

    # -- public template -------------------------------------------------------------------

    def check(self) -> None:
        """Raise `WeightsUnavailable` now if the extra or the weights are missing (cheap)."""
        if not self.loaded:
            _import_extra()
            self._check_weights()

    def load(self) -> Any:
        """Load the pipeline now (otherwise the first `generate` does) and return it; safe
        from any thread."""
        return self._pipeline.get()

    def unload(self) -> None:
        """Drop the pipeline to free its memory; the next `generate` loads it again."""
        self._pipeline.clear()

    def describe(self) -> str:
        """The model and, once loaded, the device it runs on."""
        pipeline = self._pipeline.value
        where = f"on {pipeline.device}" if pipeline is not None else "not loaded"
        return f"diffusion: {self.settings.model}, {where}"

    def generate(self, request: GenerationRequest) -> Image.Image:
        """The subject on an inpainted background, "RGB" at the input's size.

        Without a seed the prompt seeds the noise, so the same request gives the same bytes
        (on the same hardware and library versions).
        `request.framing` is ignored: inpainting keeps the subject where it is in the photo.
        """
        image = request.image.convert("RGB")
        width, height = image.size
        if request.alpha.shape != (height, width):
            raise ValueError(
                f"matte shape {request.alpha.shape} does not match image size {image.size}"
            )
        pipeline = self._pipeline.get()
        size = working_size(image.size, *_size_hints(pipeline))
        scale = size[0] / width
        mask = inpaint_mask(request.alpha, size, math.ceil(self.settings.mask_dilation * scale))
        seed = request.seed if request.seed is not None else zlib.crc32(request.prompt.encode())
        with self._run_lock:
            painted = self._inpaint(
                pipeline,
                image.resize(size, Image.Resampling.LANCZOS),
                mask,
                prompt=request.prompt,
                negative_prompt=request.negative_prompt,
                seed=seed,
            )
        background = painted.convert("RGB").resize(image.size, Image.Resampling.LANCZOS)
        return on_image(image, request.alpha, background)

    # -- model-specific steps --------------------------------------------------------------

    def _load(self) -> Any:
        torch, diffusers = _import_extra()
        self._check_weights()
        device = self._device(torch)
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        try:
            # The class comes from the saved model_index.json (SDXL, SD 1.x/2.x inpainting...).
            pipeline = diffusers.AutoPipelineForInpainting.from_pretrained(
                self.settings.model,
                local_files_only=self.settings.local_files_only,
                dtype=dtype,
            )
        except OSError as error:  # missing or incomplete files, failed download
            raise WeightsUnavailable(f"{self._missing_message()} ({error})") from error
        except ValueError as error:  # a pipeline with no inpainting counterpart
            raise WeightsUnavailable(
                f"the diffusion model {self.settings.model!r} is no inpainting pipeline "
                f"diffusers can load: {error}"
            ) from error
        pipeline = pipeline.to(device)
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def _inpaint(
        self,
        pipeline: Any,
        image: Image.Image,
        mask: Image.Image,
        *,
        prompt: str,
        negative_prompt: str | None,
        seed: int,
    ) -> Image.Image:
        """One pipeline call at the working size; the painted image at that size."""
        import torch

        # Seeded on the pipeline's device: CPU and CUDA draw different noise for one seed.
        generator = torch.Generator(device=pipeline.device).manual_seed(seed % 2**64)
        width, height = image.size
        result = pipeline(
            prompt=prompt,
            negative_prompt=negative_prompt or None,
            image=image,
            mask_image=mask,
            height=height,
            width=width,
            num_inference_steps=self.settings.steps,
            guidance_scale=self.settings.guidance,
            strength=self.settings.strength,
            generator=generator,
            output_type="pil",
        )
        painted: Image.Image = result.images[0]
        return painted

    # -- internals -------------------------------------------------------------------------

    def _device(self, torch: Any) -> Any:
        if self.settings.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.settings.device)

    def _check_weights(self) -> None:
        """Raise `WeightsUnavailable` unless the pipeline's files can be found (or fetched)."""
        model = self.settings.model
        folder = Path(model).expanduser()
        if folder.is_dir():
            if not (folder / "model_index.json").is_file():
                raise WeightsUnavailable(
                    f"{folder} holds no model_index.json: it is not a diffusers pipeline folder "
                    "(save one with `save_pretrained`, or download one with `hf download`)"
                )
            return
        if folder.is_absolute() or model.startswith((".", "~")):
            raise WeightsUnavailable(
                f"the diffusion model folder {folder} does not exist: point {MODEL_SETTING} at "
                "a folder saved with `save_pretrained`, or at a model id downloaded with "
                "`hf download <id>`"
            )
        if not self.settings.local_files_only:
            return  # from_pretrained may download it
        from huggingface_hub import try_to_load_from_cache

        try:
            cached = try_to_load_from_cache(model, "model_index.json")
        except ValueError:  # not a valid repository id either
            cached = None
        if not isinstance(cached, str):
            raise WeightsUnavailable(self._missing_message())

    def _missing_message(self) -> str:
        model = self.settings.model
        return (
            f"the diffusion model {model!r} is not on this machine: download it where there is "
            f"internet with `hf download {model}` (huggingface_hub's CLI, once huggingface-cli) "
            f"and copy the Hugging Face cache here, or point {MODEL_SETTING} at a local folder "
            "saved with `save_pretrained`"
        )


def working_size(size: tuple[int, int], native_side: int, multiple: int = 8) -> tuple[int, int]:
    """(width, height) with the long side at the model's native size, both a `multiple`."""
    width, height = size
    scale = native_side / max(width, height)

    def snap(side: int) -> int:
        return max(multiple, round(side * scale / multiple) * multiple)

    return snap(width), snap(height)


def inpaint_mask(alpha: Alpha, size: tuple[int, int], grow: int) -> Image.Image:
    """The area to repaint at `size`: everything but the subject, grown `grow` px into it.

    Growing the repainted area under the subject's soft edges means the edges are blended
    over the new background when the subject is pasted back, not over a ring of the old one.
    """
    subject = mask_image(alpha).resize(size, Image.Resampling.BILINEAR)
    background = subject.point(lambda value: 255 if value < SUBJECT_THRESHOLD else 0)
    if grow > 0:
        background = background.filter(ImageFilter.MaxFilter(2 * grow + 1))
    return background


def _size_hints(pipeline: Any) -> tuple[int, int]:
    """The pipeline's native long side and the multiple its latents need, in pixels."""
    vae_scale = int(getattr(pipeline, "vae_scale_factor", 8))
    unet = getattr(pipeline, "unet", None)
    config = getattr(unet, "config", None)
    sample_size = getattr(config, "sample_size", None)
    native = int(sample_size) * vae_scale if isinstance(sample_size, int) else 1024
    # Each UNet down block halves the latent; sizes it divides evenly avoid padding artefacts.
    blocks = len(getattr(config, "block_out_channels", ())) or 1
    multiple = max(8, vae_scale * 2 ** (blocks - 1))
    return native, multiple


def _import_extra() -> tuple[Any, Any]:
    """torch and diffusers, or `WeightsUnavailable` naming the extra to install."""
    try:
        import diffusers
        import torch
    except ImportError as error:
        raise WeightsUnavailable(MISSING_EXTRA) from error
    return torch, diffusers
