/**
 * `npm run bench:jwt`: the CPU one RS256 token verification costs, through jose (what the gateway
 * uses) and through node:crypto's synchronous verify of the same signature, in one process.
 * Configuration C of `npm run bench` pays the jose figure once per request.
 */
import { createPublicKey, verify } from 'node:crypto';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';

const N = Number(process.env.BENCH_JWT_N ?? 5000);

async function main(): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const token = await new SignJWT({ sub: 'bench' })
    .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
    .setIssuer('https://issuer.bench')
    .setAudience('bench')
    .setExpirationTime('1h')
    .sign(privateKey);
  const options = { issuer: 'https://issuer.bench', audience: 'bench', algorithms: ['RS256'] };

  const cpuPerCall = async (run: () => unknown): Promise<number> => {
    for (let i = 0; i < 200; i++) await run(); // warm-up
    const before = process.cpuUsage();
    for (let i = 0; i < N; i++) await run();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / N;
  };

  const joseUs = await cpuPerCall(() => jwtVerify(token, publicKey, options));
  const key = createPublicKey({ key: await exportJWK(publicKey), format: 'jwk' });
  const [header, payload, signature] = token.split('.');
  const signed = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, 'base64url');
  const nodeUs = await cpuPerCall(() => {
    if (!verify('sha256', signed, key, sig)) throw new Error('signature did not verify');
  });

  process.stdout.write(
    `RS256 verification, ${N} times, CPU per call (all threads):\n` +
      `  jose jwtVerify (WebCrypto):        ${joseUs.toFixed(1)} µs\n` +
      `  node:crypto verify (signature only): ${nodeUs.toFixed(1)} µs\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
