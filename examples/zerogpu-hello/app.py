import os

import gradio as gr
import spaces  # before torch: on ZeroGPU it must patch CUDA before anything initialises it
import torch

# On ZeroGPU the main process has no GPU: this tensor is kept aside ("packed") and moved to the granted
# device in each call's worker process.
offset = torch.tensor([40.0]).cuda()


@spaces.GPU(duration=20)
def where(name: str) -> dict[str, object]:
    total = torch.ones(2, device="cuda").sum() + offset
    return {
        "greeting": f"Hello {name}!",
        "answer": float(total.item()),
        "device": torch.cuda.get_device_name(0),
        "visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "device_count": torch.cuda.device_count(),
        "tensor_device": str(total.device),
    }


demo = gr.Interface(
    fn=where,
    inputs=gr.Textbox(label="Name"),
    outputs=gr.JSON(label="Where it ran"),
    title="ZeroGPU Hello",
    api_name="where",
)

if __name__ == "__main__":
    demo.launch()
