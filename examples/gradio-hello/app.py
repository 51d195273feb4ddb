import gradio as gr


def greet(name: str) -> str:
    return f"Hello {name}!"


demo = gr.Interface(
    fn=greet,
    inputs=gr.Textbox(label="Name"),
    outputs=gr.Textbox(label="Greeting"),
    title="Gradio Hello",
    api_name="greet",
)

if __name__ == "__main__":
    demo.launch()
