#!/usr/bin/env python3
"""Two probes for terms the planner takes from code that is not installed on the device (litgpt):
the bytes a forward pass leaves saved for backward, with the mechanism and without it.

    python3 tools/measure/probes.py
"""

import torch
import torch.nn.functional as F

B, T, HEADS, HEAD = 1, 4096, 32, 128
H = HEADS * HEAD
MIB = 2**20


def saved_bytes(forward) -> int:
    """Allocated bytes still held after forward (what autograd saved), inputs excluded."""
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    out = forward()
    torch.cuda.synchronize()
    held = torch.cuda.memory_allocated() - before - out.numel() * out.element_size()
    out.sum().backward()
    return held


def litgpt_qkv_view(contiguous_v: bool) -> int:
    """litgpt's attention: one fused qkv linear, q, k, v split as views (MHA, no repeat)."""
    qkv_linear = torch.nn.Linear(H, 3 * H, bias=False, device="cuda", dtype=torch.bfloat16)
    x = torch.randn(B, T, H, device="cuda", dtype=torch.bfloat16, requires_grad=True)

    def forward():
        qkv = qkv_linear(x).view(B, T, HEADS, 3, HEAD).permute(0, 2, 3, 1, 4)
        q, k, v = qkv.split((1, 1, 1), dim=2)
        q, k, v = (t.reshape(B, HEADS, T, HEAD) for t in (q, k, v))
        q, k = q * 1.0, k * 1.0  # RoPE makes new q and k tensors
        if contiguous_v:
            v = v.contiguous()
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    return saved_bytes(forward)


def frozen_head_in_chunks(chunks: int, vocab: int = 50688) -> int:
    """A frozen fp32 head applied chunk by chunk under bf16 autocast (litgpt's lm_head_chunk_size)."""
    weight = torch.randn(vocab, H, device="cuda")  # frozen: no grad
    x = torch.randn(B, T, H, device="cuda", requires_grad=True)

    def forward():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = [F.linear(part, weight) for part in x.split(T // chunks, dim=1)]
        return torch.cat([piece.float().sum(-1) for piece in logits], dim=1)

    return saved_bytes(forward)


def main() -> None:
    torch.cuda.init()
    print(torch.__version__, torch.cuda.get_device_name(0))
    view, copy = litgpt_qkv_view(False), litgpt_qkv_view(True)
    per_token = B * T * H  # bytes per token in units of h
    print(f"qkv as views: {view / MIB:.1f} MiB saved = {view / per_token:.2f} bytes x h per token "
          f"(the linear's input 2h, the whole qkv output 6h, the new q and k 4h: 12h); "
          f"with v copied: {copy / MIB:.1f} MiB = {copy / per_token:.2f} bytes x h")
    head_bytes = 50688 * H * 2
    for chunks in (1, 8, 32):
        held = frozen_head_in_chunks(chunks)
        print(f"frozen head in {chunks:2d} chunks under autocast: {held / MIB:8.1f} MiB saved "
              f"= {held / head_bytes:.2f} x the 16-bit head ({head_bytes / MIB:.0f} MiB)")


if __name__ == "__main__":
    main()
