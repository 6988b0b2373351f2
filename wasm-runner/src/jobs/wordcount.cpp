#include <algorithm>
#include <unordered_map>

#include "../fields.hpp"
#include "jobs.hpp"

namespace runner {
namespace {

bool is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

// Words are runs of bytes between ASCII whitespace, compared exactly (case-sensitive), so UTF-8
// text is never split inside a character. Lines count like `wc -l`, plus an unterminated last line.
WordCount word_count(const std::string& text, size_t top_n) {
  WordCount wc;
  wc.bytes = text.size();
  std::unordered_map<std::string, uint64_t> counts;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\n') ++wc.lines;
    if (is_space(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && !is_space(static_cast<unsigned char>(text[end]))) ++end;
    ++counts[text.substr(i, end - i)];
    ++wc.words;
    i = end;
  }
  if (!text.empty() && text.back() != '\n') ++wc.lines;
  wc.unique = counts.size();

  // Hash-map order differs between standard libraries; the explicit sort makes "top" identical.
  std::vector<std::pair<std::string, uint64_t>> all(counts.begin(), counts.end());
  std::sort(all.begin(), all.end(), [](const auto& l, const auto& r) {
    return l.second != r.second ? l.second > r.second : l.first < r.first;
  });
  if (all.size() > top_n) all.resize(top_n);
  wc.top = std::move(all);
  return wc;
}

Outcome run_wordcount(const Json& payload) {
  Fields fields(payload);
  const std::string text = fields.text("text", SIZE_MAX);
  const int64_t top = fields.integer("top", 0, 100, 10);
  if (!fields.ok()) return fields.error();
  const WordCount wc = word_count(text, static_cast<size_t>(top));
  Json top_words = Json::array();
  for (const auto& [word, count] : wc.top) top_words.push_back(Json{{"word", word}, {"count", count}});
  return Outcome::ok(Json{{"lines", wc.lines},
                          {"words", wc.words},
                          {"bytes", wc.bytes},
                          {"unique", wc.unique},
                          {"top", std::move(top_words)}});
}

}  // namespace runner
