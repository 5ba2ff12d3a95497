"""The course site: scoreboard, analytics, a student's submissions and uploads, the instructor's tools.

Run it with `streamlit run app.py`; a separate `python -m grader worker` grades what students upload.
"""

import streamlit as st

st.set_page_config(page_title="CNN autograder", page_icon="🧮", layout="wide")

navigation = st.navigation({
    "Course": [
        st.Page("site_pages/scoreboard.py", title="Scoreboard", icon=":material/leaderboard:", default=True),
        st.Page("site_pages/analytics.py", title="Assignment analytics", icon=":material/bar_chart:"),
    ],
    "Students": [
        st.Page("site_pages/my_submissions.py", title="My submissions", icon=":material/list_alt:"),
        st.Page("site_pages/submit.py", title="Submit", icon=":material/upload_file:"),
    ],
    "Staff": [
        st.Page("site_pages/instructor.py", title="Instructor", icon=":material/key:"),
    ],
})
navigation.run()
