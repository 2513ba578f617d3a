"""Input/output signatures: what tensors a model takes and returns.

Shapes hold ints for fixed axes and strings for dynamic ones ("batch"), as ONNX does.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Dim = int | str

# ONNX element types we meet in practice, by their numpy names.
NUMPY_DTYPES = {"float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool", "bfloat16"}


class TensorSpec(BaseModel):
    """One named tensor of a model's interface."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    shape: list[Dim] = Field(description="int for a fixed axis, a name for a dynamic one")
    dtype: str = Field(description="numpy dtype name, e.g. float32 or int64")

    @property
    def dynamic_axes(self) -> list[int]:
        return [i for i, d in enumerate(self.shape) if not isinstance(d, int) or d < 0]

    def concrete_shape(self, batch: int = 1, default_dim: int = 16, batch_axis: int | None = 0) -> tuple[int, ...]:
        """A shape usable for generated inputs: the samples axis (`batch_axis`, None for a constant) becomes
        `batch`, other dynamic axes `default_dim`."""
        out = []
        for i, d in enumerate(self.shape):
            if i == batch_axis:
                out.append(batch)
            elif isinstance(d, int) and d >= 0:
                out.append(d)
            else:
                out.append(default_dim)
        return tuple(out)


class InputSignature(BaseModel):
    """Inputs and outputs of a model, detected at intake and overridable by the user."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inputs: list[TensorSpec]
    outputs: list[TensorSpec] = Field(default_factory=list)

    def input(self, name: str) -> TensorSpec:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs]
