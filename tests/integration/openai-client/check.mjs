// The official OpenAI JavaScript client against rbee's queen: model list, a non-streaming
// completion (greedy, so its text must be llama.cpp's reference continuation), a streaming
// chat with usage, and an error the client must surface as its own typed error.
//
//   node check.mjs BASE_URL MODEL EXPECTED_CONTINUATION
import OpenAI from 'openai';

const [baseURL, model, expected] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: 'rbee-loopback', maxRetries: 0, timeout: 120_000 });

function check(condition, message) {
  if (!condition) {
    console.error(`openai-client: FAILED: ${message}`);
    process.exit(1);
  }
}

const models = await client.models.list();
const ids = models.data.map((m) => m.id);
check(ids.includes(model), `models.list() should include ${model}, got ${JSON.stringify(ids)}`);

const completion = await client.completions.create({
  model,
  prompt: 'Once upon a time',
  max_tokens: 32,
  temperature: 0,
});
check(completion.object === 'text_completion', `object is ${completion.object}`);
check(completion.choices[0].text === expected,
      `greedy text ${JSON.stringify(completion.choices[0].text)} != ${JSON.stringify(expected)}`);
check(completion.choices[0].finish_reason === 'length',
      `finish_reason ${completion.choices[0].finish_reason}`);
check(completion.usage.prompt_tokens === 5 && completion.usage.completion_tokens === 32,
      `usage ${JSON.stringify(completion.usage)}`);

const stream = await client.chat.completions.create({
  model,
  messages: [{ role: 'user', content: 'Tell me a story about a dog.' }],
  max_tokens: 16,
  temperature: 0,
  stream: true,
  stream_options: { include_usage: true },
});
let text = '';
let finish = null;
let usage = null;
let chunks = 0;
let role = null;
for await (const chunk of stream) {
  chunks += 1;
  check(chunk.object === 'chat.completion.chunk', `chunk object ${chunk.object}`);
  if (chunk.choices.length > 0) {
    const choice = chunk.choices[0];
    role = role ?? choice.delta.role ?? null;
    text += choice.delta.content ?? '';
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  if (chunk.usage) usage = chunk.usage;
}
check(chunks >= 3, `only ${chunks} chunks`);
check(role === 'assistant', `first delta role ${role}`);
check(text.length > 0, 'streamed no text');
check(finish === 'length' || finish === 'stop', `stream finish_reason ${finish}`);
check(usage !== null && usage.completion_tokens >= 1 && usage.completion_tokens <= 16,
      `stream usage ${JSON.stringify(usage)}`);

try {
  await client.chat.completions.create({ model, messages: [] });
  check(false, 'a chat without messages was accepted');
} catch (error) {
  check(error instanceof OpenAI.BadRequestError, `expected BadRequestError, got ${error}`);
  check(error.status === 400, `status ${error.status}`);
  check(/messages/.test(error.message), `message does not name the field: ${error.message}`);
}

console.log(`openai-client: all checks passed (${chunks} stream chunks)`);
