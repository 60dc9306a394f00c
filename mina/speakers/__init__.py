"""Who said what: voice embeddings (``encoder``), diarization of a meeting's audio
(``diarize``), turns onto the transcript (``assign``), the post-meeting job (``job``) and
provisional labels while recording (``live``)."""
