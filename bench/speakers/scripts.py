"""Meeting scripts for the espeak-ng dialogues, written for this benchmark.

Each line is (role, text); ``dialogues.py`` casts a voice for every role. Lines run from a few
words to about forty (roughly 1 to 15 s of speech), with the back-and-forth of a real meeting.
"""

from __future__ import annotations

Line = tuple[str, str]

DESIGN_REVIEW: tuple[Line, ...] = (
    (
        "A",
        "Thanks for making time. I want to walk through the new settings page before we hand "
        "it over to engineering on Monday.",
    ),
    (
        "B",
        "Sure. I looked at the mockups last night, and I have a few questions about the "
        "notification section.",
    ),
    (
        "A",
        "Good, that is the part I am least sure about. Let me start with the layout, and then "
        "we can come back to notifications.",
    ),
    ("B", "Okay."),
    (
        "A",
        "The page is split into three groups. Account details at the top, then privacy, then "
        "notifications. Each group can be collapsed, and the page remembers what you closed.",
    ),
    (
        "B",
        "Remembering that is easy if we keep it in the browser. Do we need it to follow the "
        "user to another device?",
    ),
    ("A", "No, the browser is fine. Nobody will mind opening a section again on a new laptop."),
    ("B", "Then that part is simple. What happens when someone changes their email address?"),
    (
        "A",
        "We send a confirmation message to the new address, and the old address keeps working "
        "until the link is clicked. There is a small banner that says the change is pending.",
    ),
    ("B", "I like that. Can the banner be dismissed, or does it stay until they confirm?"),
    (
        "A",
        "It stays. We tried a version that could be dismissed, and people forgot about it and "
        "then wondered why nothing changed.",
    ),
    (
        "B",
        "Fair enough. Now the notifications. The mockup shows a switch for every kind of "
        "event, and there are almost twenty of them. That feels like a lot.",
    ),
    (
        "A",
        "It is a lot. My first idea was to group them into four categories with a single switch "
        "each, and an advanced view for people who want the details.",
    ),
    (
        "B",
        "That would help. But how do we show a category where some events are on and some are off?",
    ),
    (
        "A",
        "The switch shows a partial state, a small line instead of a tick. Clicking it turns "
        "everything in the category on.",
    ),
    (
        "B",
        "I can build that, but the partial state needs to be announced properly for screen "
        "readers. Otherwise it is just a confusing picture.",
    ),
    (
        "A",
        "Agreed. Can you write down what the label should say? I will put it into the design "
        "notes so nobody forgets.",
    ),
    ("B", "Yes, I will send it this afternoon."),
    (
        "A",
        "One more thing. Marketing asked for a switch that turns off every email at once, at "
        "the very top of the page.",
    ),
    (
        "B",
        "That is easy to build. The question is whether it also turns off security messages, "
        "like password resets.",
    ),
    (
        "A",
        "It should not. Security messages always go out. The text under the switch will say "
        "that clearly.",
    ),
    ("B", "Good. Then I think the only open question is the order of the categories."),
    (
        "A",
        "Let us put the ones people change most often first. I can check the support tickets "
        "to see which ones come up.",
    ),
    (
        "B",
        "Sounds like a plan. I will start on the layout tomorrow, and we can look at the "
        "notification part together next week.",
    ),
    ("A", "Perfect. Thanks, this was really useful."),
)

SPRINT_PLANNING: tuple[Line, ...] = (
    (
        "A",
        "Morning everyone. Let us keep this short. We have two weeks, and the main goal is to "
        "finish the export feature.",
    ),
    ("B", "Before we start, can I mention that I am out on Thursday and Friday next week?"),
    ("A", "Thanks for the warning. I will keep that in mind when we split the work."),
    (
        "C",
        "For export, the backend part is mostly done. What is missing is the file format for "
        "calendars and the tests for very long meetings.",
    ),
    (
        "D",
        "On the front end, the menu exists, but it only offers plain text. I need the list of "
        "formats from the server so the menu can build itself.",
    ),
    (
        "C",
        "I can give you an endpoint for that today. It will return the name, the file "
        "extension and a short description of each format.",
    ),
    ("D", "Great, that is all I need."),
    (
        "B",
        "What about the documents that include pictures? Last time we said that was out of scope.",
    ),
    (
        "A",
        "It is still out of scope. Text and calendar formats only in this sprint. Pictures "
        "can wait until customers actually ask.",
    ),
    (
        "B",
        "Okay. Then I will take the tests for long meetings. I already have a script that "
        "creates a meeting with ten thousand segments.",
    ),
    (
        "C",
        "Please also check the memory use while you are at it. The old export loaded "
        "everything at once.",
    ),
    ("B", "Will do. I will write down the numbers in the ticket."),
    (
        "D",
        "One question about naming. Should the file be called after the meeting title or "
        "after the date?",
    ),
    ("A", "Both, I think. The date first, then the title, so the files sort nicely in a folder."),
    ("D", "And if the title has strange characters in it?"),
    (
        "C",
        "We replace them with a dash. There is already a function for that in the uploads "
        "code, so we can reuse it.",
    ),
    (
        "A",
        "Good. Next item is the bug list. There are eleven open bugs, and three of them are "
        "marked as urgent.",
    ),
    (
        "B",
        "Two of the urgent ones are the same problem. The search page times out when the "
        "query has a quote in it.",
    ),
    ("C", "That one is mine. I know what is wrong, it should take an hour or two."),
    ("A", "And the third one is the broken link in the invitation email. Who can look at that?"),
    ("D", "I can, it is probably just the template. I will check it after lunch."),
    ("A", "Thanks. That leaves the review of the onboarding text, which is waiting on legal."),
    ("B", "I can remind them. They usually answer faster when someone asks in person."),
    ("A", "Please do. Anything else before we finish?"),
    ("C", "Just a reminder that the staging server will be down tomorrow morning for an upgrade."),
    ("D", "How long will it be down?"),
    (
        "C",
        "About an hour, from eight to nine. Nothing will be lost, but please do not deploy "
        "anything during that time.",
    ),
    ("A", "Noted. Okay, thank you all. Let us meet again on Wednesday to see where we are."),
)

BUDGET_CALL: tuple[Line, ...] = (
    ("A", "Hi, can you hear me? The connection was a bit unstable a moment ago."),
    ("B", "Yes, I can hear you fine now. Shall we go straight to the budget?"),
    (
        "A",
        "Please. I have the spreadsheet open. The short version is that we spent less than "
        "planned on travel and more than planned on software licences.",
    ),
    ("B", "How much more on licences?"),
    (
        "A",
        "About fifteen percent. Most of it is the design tool. We added six seats in the spring "
        "when the new people joined.",
    ),
    (
        "B",
        "That was expected, we just forgot to update the plan. What about the travel money? "
        "Can we move it?",
    ),
    ("A", "Finance says we can move up to half of it, as long as we explain why in writing."),
    (
        "B",
        "Then let us move half of it to licences, and keep the rest for the customer visits "
        "in the autumn.",
    ),
    ("A", "That works. I will write the explanation. Do you want to see it before I send it?"),
    ("B", "No need, just copy me on the email."),
    ("A", "Okay. The next question is the training budget. Nobody has used any of it this year."),
    ("B", "That surprises me. I thought two people signed up for the security course."),
    ("A", "They did, but the course was cancelled, and the money was returned."),
    ("B", "Then we should find another course before the end of the year, or we lose the money."),
    (
        "A",
        "I agree. I will ask the team what they would find useful and bring a short list to "
        "the next meeting.",
    ),
    (
        "B",
        "Good. Please include something on accessibility. We keep saying we should learn more "
        "about it.",
    ),
    (
        "A",
        "Will do. Last point from my side. The hardware budget. Three laptops are older than "
        "four years and getting slow.",
    ),
    ("B", "Can we replace them now, or do we have to wait for the new year?"),
    (
        "A",
        "We can replace two now. The third would go over the limit, unless we take the money "
        "from somewhere else.",
    ),
    ("B", "Replace the two oldest now, and put the third one at the top of the list for January."),
    ("A", "Okay, I will order them this week. That is everything I had."),
    ("B", "Thanks. This was quicker than I feared. Talk to you on Friday."),
)

CUSTOMER_INTERVIEW: tuple[Line, ...] = (
    (
        "A",
        "Thank you for joining us today. As we said in the email, we would like to hear how "
        "your team uses meeting notes, and what gets in the way.",
    ),
    ("C", "Happy to help. We talk about this a lot, so I have opinions."),
    (
        "B",
        "That is exactly what we want. Maybe start with a typical week. How many meetings do "
        "you have, and who takes the notes?",
    ),
    (
        "C",
        "I have about fifteen meetings a week. Usually the person who organised the meeting "
        "takes notes, but honestly, half the time nobody does.",
    ),
    ("A", "What happens when nobody takes notes?"),
    (
        "C",
        "People remember different things. A week later someone asks what we decided, and we "
        "end up having the same discussion again.",
    ),
    ("B", "That sounds painful. When notes are taken, where do they end up?"),
    (
        "C",
        "Everywhere. Some go into the wiki, some into chat, some stay in a personal notebook "
        "and are never seen again.",
    ),
    ("A", "If you could change one thing about that, what would it be?"),
    (
        "C",
        "One place to look. I would like to search for a customer name and find every meeting "
        "where they came up.",
    ),
    ("B", "Would a full transcript be useful, or is it too much text?"),
    (
        "C",
        "The full transcript is useful when there is an argument about who said what. For "
        "everything else, I want a short summary and the list of tasks.",
    ),
    ("A", "Do people in your team feel comfortable being recorded?"),
    (
        "C",
        "Most do, as long as they know where the recording goes. A few colleagues are worried "
        "about it, especially in meetings about salaries or performance.",
    ),
    ("B", "So being able to turn recording off for some meetings matters."),
    ("C", "Very much. And being able to delete a recording afterwards, completely."),
    (
        "A",
        "That is helpful. Let me ask about speakers. Is it important to know who said what, "
        "or is the text enough?",
    ),
    (
        "C",
        "It is important. A decision means something different when the manager says it than "
        "when a new colleague suggests it.",
    ),
    ("B", "And how many people are in a typical meeting?"),
    (
        "C",
        "Between three and six. Bigger meetings are mostly presentations, and those are easier "
        "anyway.",
    ),
    ("A", "We are almost out of time. Is there anything we did not ask that we should have?"),
    (
        "C",
        "Only that it has to work in a meeting room with one microphone in the middle of the "
        "table. That is where most of our meetings happen.",
    ),
    ("B", "Noted. Thank you, this was really valuable."),
    ("A", "Thank you. We will send you a short summary of what we heard."),
)

# Lines for the long meetings: every script's lines, whoever spoke them.
ALL_LINES: tuple[str, ...] = tuple(
    text
    for script in (DESIGN_REVIEW, SPRINT_PLANNING, BUDGET_CALL, CUSTOMER_INTERVIEW)
    for _, text in script
)
