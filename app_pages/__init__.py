"""The Streamlit pages: each wires widgets to one geo call and draws; common.py holds what they share."""
