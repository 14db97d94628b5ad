"""The OpenAPI 3.1 description of the JSON API, served at /api/openapi.json."""
from __future__ import annotations

from importlib import metadata


def _param(name: str, description: str, schema: dict, required: bool = False, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


ERRORS = {str(code): _json("#/components/schemas/Error", text)
          for code, text in ((400, "A request that cannot be answered as asked (a page past the last one too)"),
                             (404, "No such story (or, for /api/practice, no such practice)"),
                             (503, "Too many requests wait for the embedding model; retry after Retry-After "
                                   "seconds (keyword mode never waits for it)"))}
K = _param("k", "How many results (per page)", {"type": "integer", "minimum": 1, "maximum": 100, "default": 10})
NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_NUMBER = {"type": ["number", "null"]}
STRINGS = {"type": "array", "items": {"type": "string"}}
DATE = {"type": "string", "pattern": r"^\d{4}(-\d{1,2}(-\d{1,2})?)?$"}
PLACE = {"type": "object", "required": ["name", "level", "path"], "properties": {
    "name": {"type": "string"}, "level": {"enum": ["province", "city", "county", "town"]}, "path": STRINGS}}
PRACTICE = {"type": "object", "required": ["name", "kind", "place", "definition"],
            "description": "a named practice the story reports (README, 'Practices')", "properties": {
    "name": {"type": "string", "description": "as printed, without quotes"},
    "kind": {"enum": ["工作法", "机制", "模式", "平台", "队伍", "工程", "行动", "其他"]},
    "place": {"type": "string", "description": "one of the story's places, empty when it has none"},
    "definition": {"type": "string", "description": "the sentence or clause that says what it is"}}}
FACET = {"type": "array", "items": {"type": "object", "required": ["value", "count"], "properties": {
    "value": {"type": "string"}, "count": {"type": "integer"}}}}
PRINTED = {"paper": {"type": "string"}, "date": {"type": "string", "description": "YYYY-MM-DD, or empty"},
           "page": {"type": "string"}, "page_name": {"type": "string"}, "url": {"type": "string"},
           "origin": {"type": "object", "description": "which source gave each value: manifest, path or page"},
           "parts": {"type": "array", "description": "a story continued on other pages of its edition: each "
                     "part's page and source file, the first part's first; empty for a one-page story",
                     "items": {"type": "object", "properties": {"page": {"type": "string"},
                                                                "source": {"type": "string"}}}}}


def openapi_spec(server_url: str) -> dict:
    story_ref = {"$ref": "#/components/schemas/StoryRef"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "storysearch", "version": metadata.version("storysearch"),
                 "description": "Keyword and semantic search over Chinese newspaper archives."},
        "servers": [{"url": server_url}],
        "paths": {
            "/api/search": {"get": {
                "summary": "Search stories", "operationId": "search",
                "parameters": [
                    _param("q", 'Query: plain text, "phrase", -exclude, headline:/author:/source:/paper:/place:/date:; '
                           "may be empty when a filter is given (browsing)", {"type": "string", "maxLength": 10000}),
                    _param("mode", "Ranking", {"type": "string", "enum": ["hybrid", "keyword", "semantic"],
                                               "default": "hybrid"}),
                    K,
                    _param("page", "Page of results", {"type": "integer", "minimum": 1, "default": 1}),
                    _param("sort", "Order: by relevance, or every match by date",
                           {"type": "string", "enum": ["relevance", "newest", "oldest"], "default": "relevance"}),
                    _param("date_from", "Printed on or after: YYYY, YYYY-MM or YYYY-MM-DD", DATE),
                    _param("date_to", "Printed on or before (inclusive): YYYY, YYYY-MM or YYYY-MM-DD", DATE),
                    _param("paper", "Only stories of this paper", {"type": "string"}),
                    _param("place", "Only stories about this place or a place inside it", {"type": "string"}),
                    _param("source", "Only stories of this corpus file", {"type": "string"}),
                    _param("author", "Only stories by this author", {"type": "string"}),
                    _param("fusion", "How hybrid merges the lists", {"type": "string", "enum": ["weighted", "rrf"]}),
                    _param("explain", "Add each list's rank and score", {"type": "string", "enum": ["0", "1"]}),
                ],
                "responses": {"200": _json("#/components/schemas/SearchResponse", "Ranked stories"),
                              "400": ERRORS["400"], "503": ERRORS["503"]}}},
            "/api/suggest": {"get": {
                "summary": "Completions for the search box", "operationId": "suggest",
                "description": "Headline words and byline names of the archive beginning with q, most frequent "
                               "first, at most 10; an empty q answers an empty list",
                "parameters": [_param("q", "What was typed of a word (at most 20 characters)",
                                      {"type": "string", "maxLength": 20})],
                "responses": {"200": _json("#/components/schemas/Completions", "Completions"),
                              "400": ERRORS["400"]}}},
            "/api/story/{story_id}": {"get": {
                "summary": "One story, whole and clean", "operationId": "story",
                "parameters": [_param("story_id", "Story id", {"type": "string"}, True, "path")],
                "responses": {"200": _json("#/components/schemas/Story", "The story"), "404": ERRORS["404"]}}},
            "/api/similar/{story_id}": {"get": {
                "summary": "Practices of other stories close to a story, then similar stories",
                "operationId": "similarToStory",
                "parameters": [_param("story_id", "Story id", {"type": "string"}, True, "path"), K],
                "responses": {"200": _json("#/components/schemas/SimilarResponse", "Similar practices and stories"),
                              "400": ERRORS["400"], "404": ERRORS["404"]}}},
            "/api/similar": {"get": {
                "summary": "Practices that answer a question (how did others solve X?), then similar stories",
                "operationId": "similarToText",
                "parameters": [_param("text", "A question or a description of the problem or practice",
                                      {"type": "string"}, True), K],
                "responses": {"200": _json("#/components/schemas/SimilarResponse", "Similar practices and stories"),
                              "400": ERRORS["400"], "503": ERRORS["503"]}}},
            "/api/practices": {"get": {
                "summary": "The archive's named practices", "operationId": "practices",
                "description": "One entry per practice however printed (quotes, a trailing 机制, traditional "
                               "characters give one), most stories first, then by name",
                "parameters": [
                    _param("q", "Text in the practice's name or definition (folded: traditional, full width, case)",
                           {"type": "string"}),
                    _param("place", "A place: its practices and those of the places under it (杭州 finds "
                           "杭州市 and its districts)", {"type": "string"}),
                    _param("kind", "One kind", {"enum": PRACTICE["properties"]["kind"]["enum"]}),
                    _param("k", "How many practices", {"type": "integer", "minimum": 1, "maximum": 1000,
                                                       "default": 50})],
                "responses": {"200": _json("#/components/schemas/PracticesResponse", "Practices"),
                              "400": ERRORS["400"]}}},
            "/api/practice/{name}": {"get": {
                "summary": "One practice, with the stories that mention it", "operationId": "practice",
                "parameters": [_param("name", "The practice's name as printed (any printing) or its key",
                                      {"type": "string"}, True, "path")],
                "responses": {"200": _json("#/components/schemas/Practice", "The practice"),
                              "404": ERRORS["404"]}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["ok", "error", "message", "status"], "properties": {
                "ok": {"const": False},
                "error": {"type": "string", "description": "what went wrong, in English, for programs and logs"},
                "message": {"type": "string", "description": "the same in Chinese, to show to a person"},
                "status": {"type": "integer"}}},
            "StoryRef": {"type": "object", "required": ["id", "headline", "source", "authors"], "properties": {
                "id": {"type": "string"}, "headline": {"type": "string"}, "subheadline": {"type": "string"},
                "source": {"type": "string"}, "authors": STRINGS, **PRINTED,
                "places": {"type": "array", "items": PLACE},
                "practices": {"type": "array", "items": PRACTICE}}},
            "Hit": {"allOf": [story_ref, {"type": "object", "required": ["score", "rank", "ranks"], "properties": {
                "score": {"type": "number"}, "rank": {"type": "integer"},
                "ranks": {"type": "object", "properties": {"keyword": NULLABLE_INT, "semantic": NULLABLE_INT}},
                "matched": {"type": "boolean", "description": "the story holds the query's words (a keyword "
                            "match, counted in total); false: found by meaning only"},
                "snippet": {"type": "string", "description": "HTML: escaped text with <mark> around matches"},
                "explain": {"type": "object"}}}]},
            "SearchResponse": {"type": "object", "required": ["query", "mode", "total", "hits"], "properties": {
                "query": {"type": "string"}, "mode": {"type": "string"}, "filters": {"type": "object"},
                "total": {"type": "integer", "description": "every matching story, exactly: stories that hold "
                          "the query's words (README, 'Honest counts'); in semantic mode, stories close in meaning "
                          "above the similarity floor"},
                "related": {"type": "integer", "description": "hybrid mode: stories that do not hold the words "
                            "but are close in meaning (above the similarity floor), among the first 100 by meaning"},
                "without_filters": {"type": ["integer", "null"], "description": "when the filters let none of "
                                    "the stories found through (total and related 0): how many the query finds "
                                    "without them (total and related); null otherwise"},
                "sort": {"enum": ["relevance", "newest", "oldest"], "description": "the order of the hits: "
                         "browsing with filters and no query lists newest first unless asked otherwise"},
                "ranked": {"type": "integer", "description": "how many can be paged through (at most 100)"},
                "facets": {"type": "object", "description": "counts over the whole match set, each with the "
                           "other filters applied", "properties": {
                               name: FACET for name in ("paper", "year", "month", "place", "author")}},
                "page": {"type": "integer"}, "offset": {"type": "integer"},
                "hits": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
                "next_url": {"type": ["string", "null"]}, "prev_url": {"type": ["string", "null"]},
                "did_you_mean": {"oneOf": [{"$ref": "#/components/schemas/DidYouMean"}, {"type": "null"}]},
                "warnings": STRINGS}},
            "DidYouMean": {
                "type": "object", "required": ["query", "url", "corrections"],
                "description": "When the query finds little (fewer than 3 stories hold all its words as written), "
                               "its likely typos replaced by words of the archive that sound alike (pinyin) or "
                               "differ by one letter of pinyin; null otherwise",
                "properties": {
                    "query": {"type": "string", "description": "the corrected query; the rest of the query "
                              "(other words, phrases, field conditions, exclusions) as typed"},
                    "url": {"type": "string", "description": "the same request with the corrected query"},
                    "corrections": {"type": "array", "items": {
                        "type": "object", "required": ["typed", "suggested", "stories"], "properties": {
                            "typed": {"type": "string"}, "suggested": {"type": "string"},
                            "stories": {"type": "integer", "description": "stories holding the suggested word"}}}}}},
            "Completions": {"type": "object", "required": ["prefix", "completions"], "properties": {
                "prefix": {"type": "string"},
                "completions": {"type": "array", "maxItems": 10, "items": {
                    "type": "object", "required": ["text", "kind", "stories"], "properties": {
                        "text": {"type": "string"},
                        "kind": {"enum": ["term", "name"], "description": "a headline word or a byline name"},
                        "stories": {"type": "integer", "description": "stories holding the word or signed by the name"}}}}}},
            "Story": {"type": "object", "required": ["id", "source", "headline", "paragraphs", "flags"], "properties": {
                "id": {"type": "string"}, "source": {"type": "string"}, "order": {"type": "integer"},
                "headline": {"type": "string"}, "subheadline": {"type": "string"}, "authors": STRINGS,
                "paragraphs": STRINGS, "captions": STRINGS, "duplicates": STRINGS,
                "lines": {"type": "array", "items": {"type": "integer"}}, **PRINTED,
                "extra": {"type": "object", "description": "the corpus manifest's other columns"},
                "places": {"type": "array", "items": {"allOf": [PLACE, {"type": "object", "properties": {
                    "from": {"type": "string"}, "reason": {"type": "string"}}}]}},
                "practices": {"type": "array", "items": {"allOf": [PRACTICE, {"type": "object", "properties": {
                    "key": {"type": "string"}, "rule": {"type": "string"}, "reason": {"type": "string"}}}]}},
                "flags": {"type": "object", "properties": {
                    "continued_from_earlier_page": {"type": "boolean"}, "truncated": {"type": "boolean"},
                    "has_photo": {"type": "boolean"}}}}},
            "Practice": {"type": "object", "required": ["name", "key", "kind", "definition", "places", "stories"],
                         "properties": {
                "name": {"type": "string", "description": "its most frequent printing"},
                "key": {"type": "string", "description": "one practice however printed"},
                "kind": PRACTICE["properties"]["kind"], "definition": {"type": "string"},
                "names": {**STRINGS, "description": "every printing, most frequent first"},
                "places": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "path": STRINGS, "stories": {"type": "integer"},
                    "definition": {"type": "string", "description": "what the stories of this place say it is"}}}},
                "stories": {"type": "integer", "description": "how many stories mention it"},
                "story_ids": {**STRINGS, "description": "newest first when the stories have dates"},
                "story_refs": {"type": "array", "items": story_ref,
                               "description": "/api/practice only: the stories, in the order of story_ids"},
                "elsewhere": {"type": "array", "items": {"$ref": "#/components/schemas/PracticeAnswer"},
                              "description": "/api/practice only: the closest practices of other places"}}},
            "PracticeAnswer": {
                "type": "object", "required": ["name", "kind", "place", "definition", "score", "rank", "story"],
                "description": "one practice of one place as an answer (README, 'Similar practices')",
                "properties": {
                    "name": {"type": "string"}, "key": {"type": "string"}, "kind": PRACTICE["properties"]["kind"],
                    "place": {"type": "string"}, "definition": {"type": "string"},
                    "score": {"type": "number"}, "rank": {"type": "integer"},
                    "found_by": {"type": "array", "items": {"enum": ["keyword", "semantic"]},
                                 "description": "keyword: it holds a word of the question; semantic: close in meaning"},
                    "story": {"type": "object", "description": "the story that reports it", "properties": {
                        "id": {"type": "string"}, "headline": {"type": "string"}, "paper": {"type": "string"},
                        "date": {"type": "string"}, "page": {"type": "string"}, "page_name": {"type": "string"},
                        "source": {"type": "string"}}}}},
            "PracticesResponse": {"type": "object", "required": ["total", "practices"], "properties": {
                "q": {"type": "string"}, "place": {"type": "string"}, "kind": {"type": "string"},
                "k": {"type": "integer"}, "total": {"type": "integer", "description": "every matching practice"},
                "practices": {"type": "array", "items": {"$ref": "#/components/schemas/Practice"}}}},
            "SimilarResponse": {"type": "object", "required": ["about", "practices", "hits"], "properties": {
                "about": {"type": "object"},
                "practices": {"type": "array", "items": {"$ref": "#/components/schemas/PracticeAnswer"},
                              "description": "first: one per practice and place, closest first; for a question "
                                             "only those close in meaning or holding its words"},
                "hits": {"type": "array", "items": {"allOf": [story_ref, {"type": "object", "properties": {
                    "score": {"type": "number"}, "rank": {"type": "integer"},
                    "reason": {"type": "object", "properties": {
                        "passage": {"type": ["string", "null"]}, "match": {"type": "string"}}}}}]}}}},
        }},
    }
