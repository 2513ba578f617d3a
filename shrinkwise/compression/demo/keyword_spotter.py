"""The speech demo's architecture: a small convolutional front-end over log-mel frames, then a GRU over time.

Input: N x 1 x 98 frames x 40 log-mel bands (1 s at 16 kHz, 25 ms windows every 10 ms). Two 3x3 convolutions find
local time-frequency patterns (formant glides, fricative bursts), a per-frame projection shrinks them to 64 values,
and a GRU reads the frames in order, so the answer depends on the order of the sounds, as a keyword's does. The
class scores come from the GRU's last step. The conv front-end holds most of the compute, the projection and GRU
most of the weights, which is what makes the demo interesting to compress: ONNX Runtime quantizes the convolutions
and the projection to int8 but has no int8 kernel for GRU, so that layer stays float32 (and the engine says so).
"""

from __future__ import annotations

import torch
from torch import nn


class KeywordSpotter(nn.Module):
    def __init__(
        self, mel_bands: int = 40, classes: int = 8, channels: tuple[int, int] = (24, 48), hidden: int = 48
    ) -> None:
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 98 x 40 -> 49 x 20
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d((1, 2)),  # 49 x 20 -> 49 x 10
        )
        self.project = nn.Sequential(nn.Linear(c2 * (mel_bands // 4), 64), nn.ReLU())
        self.gru = nn.GRU(64, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.features(x)  # N, C, T, F
        z = self.project(z.permute(0, 2, 1, 3).flatten(2))  # N, T, 64
        out, _ = self.gru(z)
        return self.head(out[:, -1])
