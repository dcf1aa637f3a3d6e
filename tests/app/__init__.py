"""Tests of the app through Streamlit's AppTest: every page runs, widgets change what they drive."""
