"""The path of a word, from a frame of audio to a stored segment and the events pages follow.

``recorder``: one recording (a WebSocket's audio appended durably, acknowledged, decoded).
``pacing``: how often each stream's buffer is decoded again, from the decode pool's load.
``streaming``: a stream session's decoding steps, interims and finals. ``vad``: voice activity,
which ends utterances. ``reconcile``: settling words agreed by successive hypotheses.
``final_segments``: a final decode made into a stored segment. ``transcription``: decoding a
whole recording at once (uploads, recovery). ``recovery``: finishing recordings that a dead
process left live. ``events``: the live events viewers follow.
"""
