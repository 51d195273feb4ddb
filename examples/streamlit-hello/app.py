import streamlit as st

st.title("Streamlit hello")
name = st.text_input("Your name", value="")
st.markdown(f"**Greeting:** Hello {name or 'nobody'}!")
