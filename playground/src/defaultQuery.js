export const DEFAULT_QUERY = `# Welcome to Custodian.
#
# 1. Register an account:
#   mutation { register(input: {email: "ada@example.com", password: "correct horse battery staple", firstName: "Ada", lastName: "Lovelace"}) { accessToken account { id email } } }
#
# 2. Or log in (an account with MFA enabled gets an MfaChallenge instead):
#   mutation { login(input: {email: "ada@example.com", password: "correct horse battery staple"}) { ... on AuthPayload { accessToken account { email } } ... on MfaChallenge { mfaToken expiresAt } } }
#
# 3. Ask who you are:
#   query { me { id email firstName lastName kycStatus } }
#
# The playground keeps the access token from register/login/refreshToken
# results in memory and sends it for you as "Authorization: Bearer ...".
# The bar above shows who is signed in.

query Me {
  me {
    id
    email
    firstName
    lastName
    kycStatus
  }
}
`;
