/*
 * noise.c -- the Noise core of the handshake (link_int.h, "The Noise
 * core"): Noise_XXpsk0_25519_ChaChaPoly_SHA256 from libsodium primitives,
 * written from the Noise specification, revision 34.
 *
 * The names follow the specification (MixHash, MixKey, MixKeyAndHash,
 * EncryptAndHash, DecryptAndHash, Split) so that the code can be read
 * against it line by line. Only what XX with a psk needs is here: no
 * pre-messages, no other patterns, one suite.
 *
 * The core is checked against published vectors from two independent
 * implementations (tests/vectors/test_handshake_vectors.c): cacophony's
 * XXpsk3 messages and transport messages, and snow's XXpsk0 third message.
 */
#include <string.h>

#include <sodium.h>

#include "link_int.h"

static const char NAME_PSK0[] = "Noise_XXpsk0_25519_ChaChaPoly_SHA256";
static const char NAME_PSK3[] = "Noise_XXpsk3_25519_ChaChaPoly_SHA256";

/* h = SHA-256(h || data) */
static void mix_hash(cairn__hs *hs, const uint8_t *data, size_t len)
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, hs->h, sizeof hs->h);
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, hs->h);
}

/* out = HMAC-SHA256(key, a || b) */
static void hmac(const uint8_t key[CAIRN__HS_HASH], const uint8_t *a,
                 size_t alen, const uint8_t *b, size_t blen,
                 uint8_t out[CAIRN__HS_HASH])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, CAIRN__HS_HASH);
	if (alen > 0)
		crypto_auth_hmacsha256_update(&st, a, alen);
	if (blen > 0)
		crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

/*
 * HKDF(chaining_key, input_key_material, 2 or 3) of the specification
 * (section 4.3): RFC 5869 with the chaining key as salt and empty info.
 * o1 may be the chaining key itself: it is read before o1 is written.
 * o3 may be NULL for two outputs.
 */
static void hkdf(const uint8_t ck[CAIRN__HS_HASH], const uint8_t *ikm,
                 size_t ikm_len, uint8_t o1[CAIRN__HS_HASH],
                 uint8_t o2[CAIRN__HS_HASH], uint8_t *o3)
{
	static const uint8_t one = 1, two = 2, three = 3;
	uint8_t temp[CAIRN__HS_HASH];
	hmac(ck, ikm, ikm_len, NULL, 0, temp);
	hmac(temp, &one, 1, NULL, 0, o1);
	hmac(temp, o1, CAIRN__HS_HASH, &two, 1, o2);
	if (o3 != NULL)
		hmac(temp, o2, CAIRN__HS_HASH, &three, 1, o3);
	sodium_memzero(temp, sizeof temp);
}

/* ck, k = HKDF(ck, ikm, 2); n = 0 */
static void mix_key(cairn__hs *hs, const uint8_t *ikm, size_t len)
{
	hkdf(hs->ck, ikm, len, hs->ck, hs->k, NULL);
	hs->n = 0;
	hs->has_k = true;
}

/* ck, temp_h, k = HKDF(ck, ikm, 3); MixHash(temp_h); n = 0 */
static void mix_key_and_hash(cairn__hs *hs, const uint8_t *ikm, size_t len)
{
	uint8_t temp_h[CAIRN__HS_HASH];
	hkdf(hs->ck, ikm, len, hs->ck, temp_h, hs->k);
	mix_hash(hs, temp_h, sizeof temp_h);
	sodium_memzero(temp_h, sizeof temp_h);
	hs->n = 0;
	hs->has_k = true;
}

/* The ChaChaPoly nonce of the specification: 32 zero bits, then n LE. */
static void nonce_of(uint64_t n,
                     uint8_t out[crypto_aead_chacha20poly1305_ietf_NPUBBYTES])
{
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (8 * i));
}

/*
 * EncryptAndHash: out = ENCRYPT(k, n++, h, p) (or p while there is no
 * key), then MixHash(out). Writes len (+16 with a key) bytes.
 */
static size_t encrypt_and_hash(cairn__hs *hs, const uint8_t *p, size_t len,
                               uint8_t *out)
{
	size_t clen = len;
	if (hs->has_k) {
		uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
		unsigned long long outlen = 0;
		nonce_of(hs->n++, nonce);
		crypto_aead_chacha20poly1305_ietf_encrypt(out, &outlen, p, len,
		                                          hs->h, sizeof hs->h,
		                                          NULL, nonce, hs->k);
		clen = (size_t)outlen;
	} else if (len > 0) {
		memmove(out, p, len);
	}
	mix_hash(hs, out, clen);
	return clen;
}

/*
 * DecryptAndHash: out = DECRYPT(k, n++, h, c), then MixHash(c). c and out
 * must not overlap (c is hashed after it is opened). Returns 0 or -1
 * (too short, or the tag does not match).
 */
static int decrypt_and_hash(cairn__hs *hs, const uint8_t *c, size_t len,
                            uint8_t *out)
{
	if (hs->has_k) {
		uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
		unsigned long long outlen = 0;
		if (len < CAIRN__HS_TAG)
			return -1;
		nonce_of(hs->n, nonce);
		if (crypto_aead_chacha20poly1305_ietf_decrypt(
		            out, &outlen, NULL, c, len, hs->h, sizeof hs->h,
		            nonce, hs->k) != 0)
			return -1;
		hs->n++;
	} else if (len > 0) {
		memcpy(out, c, len);
	}
	mix_hash(hs, c, len);
	return 0;
}

/* MixKey(DH(sk, pk)); -1 when the result is all zeros (low order). */
static int mix_dh(cairn__hs *hs, const uint8_t sk[CAIRN__HS_KEY],
                  const uint8_t pk[CAIRN__HS_KEY])
{
	uint8_t shared[CAIRN__HS_KEY];
	int rc = crypto_scalarmult(shared, sk, pk);
	if (rc == 0)
		mix_key(hs, shared, sizeof shared);
	sodium_memzero(shared, sizeof shared);
	return rc == 0 ? 0 : -1;
}

/*
 * The "e" token, sending: a new ephemeral key pair (or the fixed one),
 * its public half written to out and hashed; in a psk handshake it is
 * also mixed into the key (section 9.2), so that the first payload is
 * encrypted under a key that depends on both the psk and e.
 */
static int write_e(cairn__hs *hs, uint8_t out[CAIRN__HS_KEY])
{
	if (!hs->fixed_e)
		randombytes_buf(hs->e_sk, sizeof hs->e_sk);
	if (crypto_scalarmult_base(hs->e_pk, hs->e_sk) != 0)
		return -1;
	memcpy(out, hs->e_pk, CAIRN__HS_KEY);
	mix_hash(hs, hs->e_pk, CAIRN__HS_KEY);
	mix_key(hs, hs->e_pk, CAIRN__HS_KEY);
	return 0;
}

/* The "e" token, receiving. */
static void read_e(cairn__hs *hs, const uint8_t in[CAIRN__HS_KEY])
{
	memcpy(hs->re, in, CAIRN__HS_KEY);
	mix_hash(hs, hs->re, CAIRN__HS_KEY);
	mix_key(hs, hs->re, CAIRN__HS_KEY);
}

int cairn__hs_init(cairn__hs *hs, bool initiator, unsigned psk_pos,
                   const void *prologue, size_t prologue_len,
                   const uint8_t psk[CAIRN__HS_KEY], const cairn_identity *s)
{
	if (hs == NULL)
		return CAIRN_EINVAL;
	memset(hs, 0, sizeof *hs);
	if (psk == NULL || s == NULL || (psk_pos != 0 && psk_pos != 3) ||
	    (prologue == NULL && prologue_len > 0) ||
	    prologue_len > CAIRN__HS_MSG_MAX)
		return CAIRN_EINVAL;
	if (sodium_init() < 0)
		return CAIRN_EIO;

	/* InitializeSymmetric: both names are longer than HASHLEN, so
	 * h = HASH(name); ck = h. Then MixHash(prologue). */
	const char *name = psk_pos == 0 ? NAME_PSK0 : NAME_PSK3;
	crypto_hash_sha256(hs->h, (const uint8_t *)name, strlen(name));
	memcpy(hs->ck, hs->h, sizeof hs->ck);
	mix_hash(hs, prologue_len ? prologue : (const void *)"", prologue_len);

	hs->initiator = initiator;
	hs->psk_pos = (uint8_t)psk_pos;
	memcpy(hs->psk, psk, CAIRN__HS_KEY);
	memcpy(hs->s_sk, s->secret_key, CAIRN__HS_KEY);
	memcpy(hs->s_pk, s->public_key, CAIRN__HS_KEY);
	return 0;
}

void cairn__hs_fix_ephemeral(cairn__hs *hs, const uint8_t secret[CAIRN__HS_KEY])
{
	memcpy(hs->e_sk, secret, CAIRN__HS_KEY);
	hs->fixed_e = true;
}

size_t cairn__hs_overhead(unsigned index)
{
	switch (index) {
	case 1: return CAIRN__HS_M1_OVERHEAD;
	case 2: return CAIRN__HS_M2_OVERHEAD;
	case 3: return CAIRN__HS_M3_OVERHEAD;
	default: return 0;
	}
}

/* Is message `index` (1..3) written by this side? */
static bool ours(const cairn__hs *hs, unsigned index)
{
	return (index == 2) != hs->initiator;
}

int cairn__hs_write(cairn__hs *hs, const uint8_t *payload, size_t len,
                    uint8_t *out, size_t cap, size_t *out_len)
{
	unsigned index = hs->msg + 1u;
	if (index > 3 || !ours(hs, index) || (payload == NULL && len > 0))
		return CAIRN_EINVAL;
	size_t total = len + cairn__hs_overhead(index);
	if (len > CAIRN__HS_MSG_MAX || total > CAIRN__HS_MSG_MAX || total > cap)
		return CAIRN_EINVAL;

	uint8_t *p = out;
	int bad = 0;
	switch (index) {
	case 1: /* -> psk, e */
		if (hs->psk_pos == 0)
			mix_key_and_hash(hs, hs->psk, sizeof hs->psk);
		bad |= write_e(hs, p);
		p += CAIRN__HS_KEY;
		break;
	case 2: /* <- e, ee, s, es */
		bad |= write_e(hs, p);
		p += CAIRN__HS_KEY;
		bad |= mix_dh(hs, hs->e_sk, hs->re);
		p += encrypt_and_hash(hs, hs->s_pk, CAIRN__HS_KEY, p);
		bad |= mix_dh(hs, hs->s_sk, hs->re);
		break;
	default: /* -> s, se (, psk) */
		p += encrypt_and_hash(hs, hs->s_pk, CAIRN__HS_KEY, p);
		bad |= mix_dh(hs, hs->s_sk, hs->re);
		if (hs->psk_pos == 3)
			mix_key_and_hash(hs, hs->psk, sizeof hs->psk);
		break;
	}
	p += encrypt_and_hash(hs, payload, len, p);
	hs->msg = (uint8_t)index;
	if (bad)
		return CAIRN_EDECODE;
	*out_len = (size_t)(p - out);
	return 0;
}

int cairn__hs_read(cairn__hs *hs, const uint8_t *msg, size_t len,
                   uint8_t *payload, size_t cap, size_t *payload_len)
{
	unsigned index = hs->msg + 1u;
	if (index > 3 || ours(hs, index) || msg == NULL)
		return CAIRN_EINVAL;
	size_t over = cairn__hs_overhead(index);
	if (len < over || len > CAIRN__HS_MSG_MAX) {
		hs->msg = (uint8_t)index;
		return CAIRN_EDECODE;
	}
	if (len - over > cap)
		return CAIRN_EINVAL;

	/* From here the state moves on whatever happens: a failed message
	 * leaves the handshake unusable, as the specification requires. */
	hs->msg = (uint8_t)index;
	const uint8_t *p = msg;
	int bad = 0;
	switch (index) {
	case 1: /* -> psk, e */
		if (hs->psk_pos == 0)
			mix_key_and_hash(hs, hs->psk, sizeof hs->psk);
		read_e(hs, p);
		p += CAIRN__HS_KEY;
		break;
	case 2: /* <- e, ee, s, es */
		read_e(hs, p);
		p += CAIRN__HS_KEY;
		bad |= mix_dh(hs, hs->e_sk, hs->re);
		if (!bad)
			bad |= decrypt_and_hash(
			        hs, p, CAIRN__HS_KEY + CAIRN__HS_TAG, hs->rs);
		p += CAIRN__HS_KEY + CAIRN__HS_TAG;
		if (!bad)
			bad |= mix_dh(hs, hs->e_sk, hs->rs);
		break;
	default: /* -> s, se (, psk) */
		bad |= decrypt_and_hash(hs, p, CAIRN__HS_KEY + CAIRN__HS_TAG,
		                        hs->rs);
		p += CAIRN__HS_KEY + CAIRN__HS_TAG;
		if (!bad)
			bad |= mix_dh(hs, hs->e_sk, hs->rs);
		if (!bad && hs->psk_pos == 3)
			mix_key_and_hash(hs, hs->psk, sizeof hs->psk);
		break;
	}
	if (bad)
		return CAIRN_EDECODE;
	size_t rest = len - (size_t)(p - msg);
	if (decrypt_and_hash(hs, p, rest, payload) != 0)
		return CAIRN_EDECODE;
	*payload_len = rest - CAIRN__HS_TAG;
	return 0;
}

int cairn__hs_split(const cairn__hs *hs, uint8_t k1[CAIRN__HS_KEY],
                    uint8_t k2[CAIRN__HS_KEY])
{
	if (hs->msg != 3)
		return CAIRN_EINVAL;
	hkdf(hs->ck, NULL, 0, k1, k2, NULL);
	return 0;
}

void cairn__hs_wipe(cairn__hs *hs)
{
	sodium_memzero(hs, sizeof *hs);
}
